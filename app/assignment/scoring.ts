/** Distances and the store-selection score of the assignment rule. */

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance in kilometres. */
export function haversineKm(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The assignment rule: score = distance × (1 + LOAD_WEIGHT × load), load = active ÷ capacity.
 * The lowest score wins. An idle store competes with its plain distance; a full-to-the-brim one
 * as if it were twice as far, so a nearly-as-close idle store takes the next customer.
 * A floor of 0.5 km keeps "next door" stores from ignoring load altogether.
 */
export const LOAD_WEIGHT = 1;
const DISTANCE_FLOOR_KM = 0.5;

export function storeScore(distanceKm: number, active: number, capacity: number): number {
  const load = capacity > 0 ? active / capacity : 1;
  return Math.max(distanceKm, DISTANCE_FLOOR_KM) * (1 + LOAD_WEIGHT * load);
}
