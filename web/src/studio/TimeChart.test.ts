import { describe, expect, it } from 'vitest';
import { linePoints } from './TimeChart.js';

describe('linePoints', () => {
  it('spreads time across the width and scales values to the highest', () => {
    expect(linePoints([[0, 0], [50, 5], [100, 10]], 0, 100, 100, 50, 0)).toBe('0,50 50,25 100,0');
  });

  it('starts at the left edge with the last point before the window, and drops older ones', () => {
    expect(linePoints([[0, 4], [10, 8], [60, 4], [110, 2]], 50, 110, 60, 40, 0)).toBe('0,0 10,20 60,30');
  });

  it('draws a flat line at the bottom when every value is 0, and a single old point at the left edge', () => {
    expect(linePoints([[0, 0], [10, 0]], 0, 10, 10, 20, 0)).toBe('0,20 10,20');
    expect(linePoints([[0, 3]], 50, 100, 10, 20, 0)).toBe('0,0');
    expect(linePoints([], 0, 10)).toBe('');
  });
});
