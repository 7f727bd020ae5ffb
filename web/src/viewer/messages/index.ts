/** The viewer's message catalogs by locale tag; English first (the fallback). */
import type { Catalogs } from '../../shared/I18n.js';
import { en } from './en.js';
import { id } from './id.js';
import { ms } from './ms.js';
import { th } from './th.js';
import { vi } from './vi.js';
import { zhHans } from './zh-Hans.js';

export const catalogs: Catalogs = { en, id, ms, th, vi, 'zh-Hans': zhHans };
