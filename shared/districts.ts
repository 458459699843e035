/** Reference data: Seoul's 25 districts (gu) with the coordinates of their district offices. */
export interface District {
  ko: string;
  en: string;
  latitude: number;
  longitude: number;
}

export const SEOUL_DISTRICTS: readonly District[] = [
  { ko: '종로구', en: 'Jongno-gu', latitude: 37.5735, longitude: 126.979 },
  { ko: '중구', en: 'Jung-gu', latitude: 37.5638, longitude: 126.9976 },
  { ko: '용산구', en: 'Yongsan-gu', latitude: 37.5324, longitude: 126.9905 },
  { ko: '성동구', en: 'Seongdong-gu', latitude: 37.5634, longitude: 127.0369 },
  { ko: '광진구', en: 'Gwangjin-gu', latitude: 37.5385, longitude: 127.0823 },
  { ko: '동대문구', en: 'Dongdaemun-gu', latitude: 37.5744, longitude: 127.0396 },
  { ko: '중랑구', en: 'Jungnang-gu', latitude: 37.6063, longitude: 127.0925 },
  { ko: '성북구', en: 'Seongbuk-gu', latitude: 37.5894, longitude: 127.0167 },
  { ko: '강북구', en: 'Gangbuk-gu', latitude: 37.6396, longitude: 127.0257 },
  { ko: '도봉구', en: 'Dobong-gu', latitude: 37.6688, longitude: 127.0471 },
  { ko: '노원구', en: 'Nowon-gu', latitude: 37.6542, longitude: 127.0568 },
  { ko: '은평구', en: 'Eunpyeong-gu', latitude: 37.6027, longitude: 126.9291 },
  { ko: '서대문구', en: 'Seodaemun-gu', latitude: 37.5791, longitude: 126.9368 },
  { ko: '마포구', en: 'Mapo-gu', latitude: 37.5663, longitude: 126.9019 },
  { ko: '양천구', en: 'Yangcheon-gu', latitude: 37.517, longitude: 126.8664 },
  { ko: '강서구', en: 'Gangseo-gu', latitude: 37.5509, longitude: 126.8495 },
  { ko: '구로구', en: 'Guro-gu', latitude: 37.4954, longitude: 126.8874 },
  { ko: '금천구', en: 'Geumcheon-gu', latitude: 37.4569, longitude: 126.8955 },
  { ko: '영등포구', en: 'Yeongdeungpo-gu', latitude: 37.5264, longitude: 126.8962 },
  { ko: '동작구', en: 'Dongjak-gu', latitude: 37.5124, longitude: 126.9393 },
  { ko: '관악구', en: 'Gwanak-gu', latitude: 37.4784, longitude: 126.9516 },
  { ko: '서초구', en: 'Seocho-gu', latitude: 37.4837, longitude: 127.0324 },
  { ko: '강남구', en: 'Gangnam-gu', latitude: 37.5172, longitude: 127.0473 },
  { ko: '송파구', en: 'Songpa-gu', latitude: 37.5145, longitude: 127.1059 },
  { ko: '강동구', en: 'Gangdong-gu', latitude: 37.5301, longitude: 127.1238 },
];

/** Finds a district by its Korean or English name (case- and suffix-tolerant: "Gangnam", "강남"). */
export function findDistrict(name: string): District | undefined {
  const n = name.trim().toLowerCase().replace(/[-\s]?gu$/, '').replace(/구$/, '');
  return SEOUL_DISTRICTS.find(
    (d) => d.ko.replace(/구$/, '') === n || d.en.toLowerCase().replace(/-gu$/, '') === n,
  );
}
