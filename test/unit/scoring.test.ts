/** The assignment rule's distance and score. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { haversineKm, LOAD_WEIGHT, storeScore } from '../../app/assignment/scoring.js';

const SEOUL_CITY_HALL = { latitude: 37.5663, longitude: 126.9779 };
const BUSAN_CITY_HALL = { latitude: 35.1798, longitude: 129.075 };
const point = fc.record({ latitude: fc.double({ min: -90, max: 90, noNaN: true }), longitude: fc.double({ min: -180, max: 180, noNaN: true }) });

describe('haversineKm', () => {
  it('measures great-circle distances in kilometres', () => {
    expect(haversineKm(SEOUL_CITY_HALL, SEOUL_CITY_HALL)).toBe(0);
    // One degree along a meridian is 111.2 km; Seoul to Busan about 325 km as the crow flies.
    expect(haversineKm({ latitude: 0, longitude: 0 }, { latitude: 1, longitude: 0 })).toBeCloseTo(111.195, 2);
    expect(haversineKm(SEOUL_CITY_HALL, BUSAN_CITY_HALL)).toBeGreaterThan(320);
    expect(haversineKm(SEOUL_CITY_HALL, BUSAN_CITY_HALL)).toBeLessThan(330);
    // Half the earth's circumference for antipodes, where rounding could push asin past 1.
    expect(haversineKm({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 180 })).toBeCloseTo(Math.PI * 6371.0088, 6);
  });

  it('is symmetric, never negative, and no longer than half the circumference', () => {
    fc.assert(
      fc.property(point, point, (a, b) => {
        const d = haversineKm(a, b);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.PI * 6371.0088 + 1e-6);
        expect(haversineKm(b, a)).toBeCloseTo(d, 9);
      }),
    );
  });
});

describe('storeScore', () => {
  it('is the plain distance for an idle store and twice it for a full one', () => {
    expect(LOAD_WEIGHT).toBe(1);
    expect(storeScore(3, 0, 10)).toBe(3);
    expect(storeScore(3, 10, 10)).toBe(6);
    expect(storeScore(3, 5, 10)).toBe(4.5);
  });

  it('counts a store without capacity as full', () => {
    expect(storeScore(3, 0, 0)).toBe(6);
  });

  it('does not let a next-door store ignore its load (0.5 km floor)', () => {
    expect(storeScore(0, 0, 10)).toBe(0.5);
    expect(storeScore(0.1, 10, 10)).toBe(1);
    // A busy store next door loses to an idle one 800 m away.
    expect(storeScore(0.05, 9, 10)).toBeGreaterThan(storeScore(0.8, 0, 10));
  });

  it('sends the next customer to a nearly-as-close idle store rather than a busy nearer one', () => {
    expect(storeScore(1.5, 0, 10)).toBeLessThan(storeScore(1.0, 8, 10));
    // …but not to one much farther away.
    expect(storeScore(2.5, 0, 10)).toBeGreaterThan(storeScore(1.0, 8, 10));
  });

  it('never prefers the farther of two equally loaded stores, nor the busier of two equally far ones', () => {
    const km = fc.double({ min: 0, max: 500, noNaN: true });
    const load = fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 100 })).map(([capacity, n]) => ({ capacity, active: Math.min(n, capacity) }));
    fc.assert(
      fc.property(km, km, load, (d1, d2, { active, capacity }) => {
        const [near, far] = d1 <= d2 ? [d1, d2] : [d2, d1];
        expect(storeScore(near, active, capacity)).toBeLessThanOrEqual(storeScore(far, active, capacity));
      }),
    );
    fc.assert(
      fc.property(km, fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (d, capacity, a, b) => {
        const [fewer, more] = a <= b ? [a, b] : [b, a];
        expect(storeScore(d, fewer, capacity)).toBeLessThanOrEqual(storeScore(d, more, capacity));
      }),
    );
  });
});
