import { describe, expect, it } from 'vitest';
import { prefersLite, startQuality } from './networkQuality.js';

describe('the starting quality', () => {
  it('is Lite on data saver or a 3G-or-slower connection, auto otherwise', () => {
    expect(prefersLite({ saveData: true, effectiveType: '4g' })).toBe(true);
    for (const t of ['slow-2g', '2g', '3g']) expect(prefersLite({ effectiveType: t })).toBe(true);
    expect(prefersLite({ effectiveType: '4g' })).toBe(false);
    expect(prefersLite(undefined)).toBe(false);
    expect(startQuality(null, { effectiveType: '3g' })).toBe('lite');
    expect(startQuality('auto', { effectiveType: '4g' })).toBe('auto');
  });

  it('keeps what the page asked for explicitly', () => {
    expect(startQuality('audio', { effectiveType: '4g' })).toBe('audio');
    expect(startQuality('lite', undefined)).toBe('lite');
    expect(startQuality('bogus', undefined)).toBe('auto');
  });
});
