import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  const options = { baseDelayMs: 100, maxDelayMs: 1000 };

  it('doubles per attempt up to the cap without jitter', () => {
    const delays = [0, 1, 2, 3, 4, 10].map((n) =>
      backoffDelay(n, 0, { ...options, jitter: 'none' }),
    );
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('draws a full-jitter delay below the capped exponential step', () => {
    expect(backoffDelay(2, 0, { ...options, random: () => 0.5 })).toBe(200);
    expect(backoffDelay(9, 0, { ...options, random: () => 0.999 })).toBeCloseTo(999);
    expect(backoffDelay(0, 0, { ...options, random: () => 0 })).toBe(0);
  });

  it('draws a decorrelated delay between the base and three times the previous one, capped', () => {
    const decorrelated = { ...options, jitter: 'decorrelated' as const };
    expect(backoffDelay(1, 200, { ...decorrelated, random: () => 0 })).toBe(100);
    expect(backoffDelay(1, 200, { ...decorrelated, random: () => 0.5 })).toBe(350);
    expect(backoffDelay(5, 900, { ...decorrelated, random: () => 0.99 })).toBe(1000);
  });
});
