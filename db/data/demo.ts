/** Demo catalogue and dealer stores seeded by `npm start` (idempotently). */
import { createHash } from 'node:crypto';
import { SEOUL_DISTRICTS } from '../../shared/districts.js';

export const DEMO_PRODUCTS = [
  { sku: 'galaxy-s26-ultra-512', name: 'Galaxy S26 Ultra 512GB', brand: 'Samsung', priceKrw: 1_976_700, stock: 120 },
  { sku: 'galaxy-z-fold8-512', name: 'Galaxy Z Fold8 512GB', brand: 'Samsung', priceKrw: 2_533_700, stock: 60 },
  { sku: 'galaxy-z-flip8-256', name: 'Galaxy Z Flip8 256GB', brand: 'Samsung', priceKrw: 1_485_000, stock: 80 },
  { sku: 'iphone-18-pro-256', name: 'iPhone 18 Pro 256GB', brand: 'Apple', priceKrw: 1_750_000, stock: 100 },
  { sku: 'iphone-18-pro-max-512', name: 'iPhone 18 Pro Max 512GB', brand: 'Apple', priceKrw: 2_290_000, stock: 50 },
  { sku: 'galaxy-a57-128', name: 'Galaxy A57 128GB', brand: 'Samsung', priceKrw: 599_500, stock: 200 },
] as const;

// Extra stores at the busiest shopping streets, beside one store per district office.
const HOTSPOTS = [
  { id: 'gangnam-station', name: '강남역점', district: '강남구', address: '서울 강남구 강남대로 396', latitude: 37.4979, longitude: 127.0276, capacity: 40 },
  { id: 'hongdae', name: '홍대입구역점', district: '마포구', address: '서울 마포구 양화로 160', latitude: 37.5572, longitude: 126.9245, capacity: 30 },
  { id: 'jamsil', name: '잠실역점', district: '송파구', address: '서울 송파구 올림픽로 265', latitude: 37.5133, longitude: 127.1001, capacity: 35 },
  { id: 'myeongdong', name: '명동점', district: '중구', address: '서울 중구 명동길 14', latitude: 37.5636, longitude: 126.9826, capacity: 30 },
  { id: 'yeouido', name: '여의도점', district: '영등포구', address: '서울 영등포구 여의대로 108', latitude: 37.5219, longitude: 126.9245, capacity: 25 },
  { id: 'sinchon', name: '신촌점', district: '서대문구', address: '서울 서대문구 신촌로 83', latitude: 37.5551, longitude: 126.9368, capacity: 20 },
];

// Tshop's central online store (delivery fallback): never chosen by distance, no capacity limit to speak of.
const CENTRAL = {
  id: 'central-online',
  name: 'Tshop 온라인 중앙센터',
  district: '중구',
  address: '서울 중구 을지로 65', // CENTRAL_STORE.address
  latitude: 37.5662,
  longitude: 126.9855,
  capacity: 1_000_000,
  is_central: true,
};

export const DEMO_STORES = [
  ...SEOUL_DISTRICTS.map((d) => ({
    id: d.en.toLowerCase().replace(/-gu$/, ''),
    name: `${d.ko.replace(/구$/, '')} 대리점`,
    district: d.ko,
    address: `서울 ${d.ko} 구청 인근`,
    latitude: d.latitude,
    longitude: d.longitude,
    capacity: 15,
  })),
  ...HOTSPOTS,
  CENTRAL,
];

/**
 * Demo customers for the web app's development sign-in (`POST /dev/login`, on only in the dev
 * stack). Customers are not stored: a customer is the `sub` of their token.
 */
export const DEMO_CUSTOMERS = [
  { sub: 'c-1', name: '김민수', phone: '010-1111-0001', district: '강남구' },
  { sub: 'c-2', name: '이서연', phone: '010-1111-0002', district: '마포구' },
  { sub: 'c-3', name: '박지훈', phone: '010-1111-0003', district: '송파구' },
  { sub: 'c-4', name: '최유진', phone: '010-1111-0004', district: '종로구' },
  { sub: 'c-5', name: 'Alex Kim', phone: '010-1111-0005', district: '용산구' },
] as const;

/**
 * The number a demo identity's token carries: a demo customer's own, else one made from the subject
 * (010-9xxx-xxxx), so that every development token has a verified number, as the identity
 * provider's would.
 */
export function demoPhoneFor(sub: string): string {
  const known = DEMO_CUSTOMERS.find((c) => c.sub === sub);
  if (known) return known.phone;
  const n = createHash('sha256').update(sub).digest().readUInt32BE(0) % 10_000_000;
  const digits = String(n).padStart(7, '0');
  return `010-9${digits.slice(0, 3)}-${digits.slice(3)}`;
}

/** The name a demo identity's token carries, if it is a demo customer. */
export const demoNameFor = (sub: string): string | undefined => DEMO_CUSTOMERS.find((c) => c.sub === sub)?.name;
