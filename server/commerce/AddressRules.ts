import { z } from 'zod';
import { codePointLength, sanitizeText } from '../../common/text.js';
import type { Address, AddressFault, AddressFaultReason } from '../../protocol/shipping.js';
import { AddressInvalidError } from './errors.js';

/** What one country asks of an address, beyond a recipient, a phone, a first line and the country. */
export interface CountryRule {
  /** The postal code, once normalised, must match. */
  postal: RegExp;
  /** A postal code is required (else optional, checked when given). */
  postalRequired: boolean;
  /** Fields that must be present. */
  required: readonly ('city' | 'state')[];
  /** The state, upper-cased, must match (a US state code). */
  state?: RegExp;
  /** Normalises a postal code (after NFKC, upper case and single spaces). */
  normalizePostal?: (code: string) => string;
}

/**
 * The rule table. Countries not listed take DEFAULT_RULE: a city, and a postal code that looks
 * like one when given. Vietnam's codes are 5 digits since 2018; the older 6-digit ones are
 * still printed, so both pass, and neither is required.
 */
export const COUNTRY_RULES: Readonly<Record<string, CountryRule>> = {
  ID: { postal: /^\d{5}$/, postalRequired: true, required: ['city', 'state'] },
  MY: { postal: /^\d{5}$/, postalRequired: true, required: ['city', 'state'] },
  TH: { postal: /^\d{5}$/, postalRequired: true, required: ['city', 'state'] },
  VN: { postal: /^\d{5,6}$/, postalRequired: false, required: ['city', 'state'] },
  SG: { postal: /^\d{6}$/, postalRequired: true, required: [] },
  PH: { postal: /^\d{4}$/, postalRequired: true, required: ['city', 'state'] },
  US: { postal: /^\d{5}(-\d{4})?$/, postalRequired: true, required: ['city', 'state'], state: /^[A-Z]{2}$/ },
  GB: {
    postal: /^(GIR 0AA|[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2})$/,
    postalRequired: true,
    required: ['city'],
    // "sw1a1aa" -> "SW1A 1AA": the inward code is always the last three characters.
    normalizePostal: (c) => {
      const packed = c.replace(/ /g, '');
      return packed.length >= 5 ? `${packed.slice(0, -3)} ${packed.slice(-3)}` : packed;
    },
  },
  JP: {
    postal: /^\d{3}-\d{4}$/,
    postalRequired: true,
    required: ['state', 'city'],
    // "1000001" or "100 0001" -> "100-0001".
    normalizePostal: (c) => {
      const digits = c.replace(/[ -]/g, '');
      return /^\d{7}$/.test(digits) ? `${digits.slice(0, 3)}-${digits.slice(3)}` : c;
    },
  },
  CN: { postal: /^\d{6}$/, postalRequired: true, required: ['state', 'city'] },
};

/** The rule of every country not in COUNTRY_RULES. */
export const DEFAULT_RULE: CountryRule = { postal: /^[A-Z0-9][A-Z0-9 -]{1,10}$/, postalRequired: false, required: ['city'] };

/** ISO 3166-1 alpha-2, every officially assigned code (249). */
const COUNTRIES = new Set(
  ('AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
    'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ ' +
    'UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW').split(' '),
);

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;

/** Longest value of each text field, in code points (raw input is capped at 4× before cleaning). */
const TEXT_MAX = { name: 100, line1: 200, line2: 200, district: 100, city: 100, state: 100 } as const;
type TextField = keyof typeof TEXT_MAX;
const POSTAL_MAX = 16;
const PHONE_MAX = 32;

/**
 * The request body of `POST /v1/me/addresses`: the shape only (types, known fields, raw
 * lengths), for the API description. `AddressRules.check` applies it and then the country's rules.
 */
export const addressInputSchema = z.object({
  name: z.string().max(TEXT_MAX.name * 4),
  phone: z.string().max(PHONE_MAX),
  line1: z.string().max(TEXT_MAX.line1 * 4),
  line2: z.string().max(TEXT_MAX.line2 * 4).optional(),
  district: z.string().max(TEXT_MAX.district * 4).optional(),
  city: z.string().max(TEXT_MAX.city * 4).optional(),
  state: z.string().max(TEXT_MAX.state * 4).optional(),
  postalCode: z.string().max(POSTAL_MAX * 4).optional(),
  country: z.string().max(8),
  default: z.boolean().optional(),
}).strict();

const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.keys(addressInputSchema.shape));

/** An address that passed its country's rules, cleaned and normalised, not yet saved. */
export type CheckedAddress = Omit<Address, 'id'>;

/** The answer of `AddressRules.check`. */
export type AddressCheck = { ok: true; address: CheckedAddress; makeDefault: boolean } | { ok: false; faults: AddressFault[] };

/**
 * Address validation per country, a pure decision: every text field goes through the one text
 * cleaner (common/text.ts sanitizeText), the phone must be E.164, and the country's rule
 * (COUNTRY_RULES) says which fields are required and what its postal codes look like. Every
 * refused field is named with a stable reason (protocol/shipping.ts ADDRESS_FAULTS).
 */
export class AddressRules {
  private constructor() {}

  /** The rule of an ISO country code (DEFAULT_RULE for countries without their own). */
  static ruleOf(country: string): CountryRule {
    return Object.hasOwn(COUNTRY_RULES, country) ? COUNTRY_RULES[country] : DEFAULT_RULE;
  }

  /** True for an officially assigned ISO 3166-1 alpha-2 code. */
  static isCountry(code: unknown): code is string {
    return typeof code === 'string' && COUNTRIES.has(code);
  }

  /** Checks and normalises an address as a buyer sent it; lists every refused field. */
  static check(input: unknown): AddressCheck {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return { ok: false, faults: [{ field: 'address', reason: 'invalid' }] };
    const raw = input as Record<string, unknown>;
    const faults: AddressFault[] = [];
    const fault = (field: string, reason: AddressFaultReason) => {
      faults.push({ field, reason });
      return null;
    };
    for (const key of Object.keys(raw)) if (!KNOWN_FIELDS.has(key)) fault(key, 'invalid');

    const text = (field: TextField): string | null => {
      const value = raw[field];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'string') return fault(field, 'invalid');
      if (value.length > TEXT_MAX[field] * 4) return fault(field, 'too_long');
      const clean = sanitizeText(value);
      if (clean === '') return null;
      if (codePointLength(clean) > TEXT_MAX[field]) return fault(field, 'too_long');
      return clean;
    };
    const name = text('name');
    const line1 = text('line1');
    const line2 = text('line2');
    const district = text('district');
    const city = text('city');
    let state = text('state');

    let country: string | null = null;
    if (raw.country === undefined || raw.country === null || raw.country === '') fault('country', 'required');
    else if (typeof raw.country !== 'string') fault('country', 'invalid');
    else if (!AddressRules.isCountry(raw.country.trim().toUpperCase())) fault('country', 'unknown_country');
    else country = raw.country.trim().toUpperCase();

    let phone: string | null = null;
    if (raw.phone === undefined || raw.phone === null || raw.phone === '') fault('phone', 'required');
    else if (typeof raw.phone !== 'string') fault('phone', 'invalid');
    else if (raw.phone.length > PHONE_MAX) fault('phone', 'too_long');
    else {
      const compact = sanitizeText(raw.phone).normalize('NFKC').replace(/[\s().-]/g, '');
      if (E164.test(compact)) phone = compact;
      else fault('phone', 'format');
    }

    if (name === null && !faults.some((f) => f.field === 'name')) fault('name', 'required');
    if (line1 === null && !faults.some((f) => f.field === 'line1')) fault('line1', 'required');

    let postalCode: string | null = null;
    const rule = country ? AddressRules.ruleOf(country) : null;
    const postalRaw = raw.postalCode;
    if (postalRaw !== undefined && postalRaw !== null && typeof postalRaw !== 'string') fault('postalCode', 'invalid');
    else if (typeof postalRaw === 'string' && postalRaw.length > POSTAL_MAX * 4) fault('postalCode', 'too_long');
    else if (typeof postalRaw === 'string') {
      let code = sanitizeText(postalRaw).normalize('NFKC').toUpperCase().replace(/\s+/g, ' ').trim();
      if (code !== '' && rule) {
        code = rule.normalizePostal ? rule.normalizePostal(code) : code;
        if (code.length > POSTAL_MAX || !rule.postal.test(code)) fault('postalCode', 'format');
        else postalCode = code;
      }
    }
    if (rule) {
      if (postalCode === null && rule.postalRequired && !faults.some((f) => f.field === 'postalCode')) fault('postalCode', 'required');
      for (const field of rule.required) {
        const value = field === 'city' ? city : state;
        if (value === null && !faults.some((f) => f.field === field)) fault(field, 'required');
      }
      if (rule.state && state !== null) {
        state = state.toUpperCase();
        if (!rule.state.test(state)) fault('state', 'format');
      }
    }

    if (raw.default !== undefined && typeof raw.default !== 'boolean') fault('default', 'invalid');
    if (faults.length > 0) return { ok: false, faults };
    return {
      ok: true,
      address: { name: name!, phone: phone!, line1: line1!, line2, district, city, state, postalCode, country: country! },
      makeDefault: raw.default === true,
    };
  }

  /** `check`, throwing AddressInvalidError (400 ADDRESS_INVALID, the faults in `details`). */
  static validate(input: unknown): { address: CheckedAddress; makeDefault: boolean } {
    const r = AddressRules.check(input);
    if (!r.ok) throw new AddressInvalidError(r.faults);
    return { address: r.address, makeDefault: r.makeDefault };
  }
}
