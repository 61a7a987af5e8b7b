// timePairedMedians: two functions timed call by call in turn, each median from its own calls.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { median, timePairedMedians } from '../../src/experiments/latency.js';

describe('timePairedMedians', () => {
  afterEach(() => vi.restoreAllMocks());

  it('alternates the two calls and gives each its own median', () => {
    // A fake clock that only the timed functions move: a takes 1 ms, b 3 ms, except b's third call (its
    // first timed one after 2 warm-ups), which takes 100 ms.
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const calls: string[] = [];
    let bCalls = 0;
    const a = () => {
      calls.push('a');
      now += 1;
    };
    const b = () => {
      calls.push('b');
      bCalls++;
      now += bCalls === 3 ? 100 : 3;
    };
    const [ma, mb] = timePairedMedians(a, b, 5, 2);
    expect(calls).toEqual(Array.from({ length: 7 }, () => ['a', 'b']).flat());
    expect(ma).toBe(1);
    // The one slow call does not move the median.
    expect(mb).toBe(3);
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
  });
});
