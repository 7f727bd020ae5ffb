/** Fixture: server/realtime/ importing server/commerce/ (forbidden: commerce sits above realtime). */
import { catalogName } from '../commerce/Catalog.js';

export const pinned = catalogName;
