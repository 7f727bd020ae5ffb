import { describe, expect, it } from 'vitest';
import { CommerceErrorCode } from '../../protocol/codes.js';
import { AddressRules, COUNTRY_RULES, DEFAULT_RULE } from './AddressRules.js';

const base = { name: 'Siti Rahma', phone: '+6281234567890', line1: 'Jl. Merdeka 10' };

/** The faults of an input, as [field, reason] pairs (empty: accepted). */
function faults(input: unknown): [string, string][] {
  const r = AddressRules.check(input);
  return r.ok ? [] : r.faults.map((f) => [f.field, f.reason]);
}

function accepted(input: unknown) {
  const r = AddressRules.check(input);
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r.faults)}`);
  return r.address;
}

// One valid address per country with its own rule, and postal codes its rule refuses.
const COUNTRIES = [
  { country: 'ID', ok: { city: 'Jakarta', state: 'DKI Jakarta', postalCode: '10110' }, badPostal: ['1011', '101100', 'ABCDE'] },
  { country: 'MY', ok: { city: 'Kuala Lumpur', state: 'WP Kuala Lumpur', postalCode: '50088' }, badPostal: ['5008', 'K5008'] },
  { country: 'TH', ok: { city: 'Bangkok', state: 'Bangkok', postalCode: '10200' }, badPostal: ['102000', '1020'] },
  { country: 'VN', ok: { city: 'Hà Nội', state: 'Hà Nội', postalCode: '10000' }, badPostal: ['1000', '1000000', 'HN100'] },
  { country: 'SG', ok: { postalCode: '018956' }, badPostal: ['18956', '0189567'] },
  { country: 'PH', ok: { city: 'Makati', state: 'Metro Manila', postalCode: '1226' }, badPostal: ['12260', '122'] },
  { country: 'US', ok: { city: 'Springfield', state: 'IL', postalCode: '62701-1234' }, badPostal: ['6270', '62701-12', 'ABCDE'] },
  { country: 'GB', ok: { city: 'London', postalCode: 'SW1A 1AA' }, badPostal: ['SW1A', '12345', 'SW1A 1A'] },
  { country: 'JP', ok: { city: 'Chiyoda-ku', state: 'Tokyo', postalCode: '100-0001' }, badPostal: ['100-001', '100-00011', '100000', '100-ABCD'] },
  { country: 'CN', ok: { city: '北京市', state: '北京', postalCode: '100000' }, badPostal: ['10000', '1000000'] },
] as const;

describe('AddressRules', () => {
  it('has a rule of its own for ID, MY, TH, VN, SG, PH, US, GB, JP and CN', () => {
    expect(Object.keys(COUNTRY_RULES).sort()).toEqual(COUNTRIES.map((c) => c.country).sort());
    expect(AddressRules.ruleOf('FR')).toBe(DEFAULT_RULE);
    expect(AddressRules.ruleOf('toString')).toBe(DEFAULT_RULE);
  });

  describe.each(COUNTRIES)('$country', ({ country, ok, badPostal }) => {
    it('accepts a complete address and keeps it as given (cleaned)', () => {
      const a = accepted({ ...base, ...ok, country });
      expect(a).toMatchObject({ ...base, ...ok, country });
    });

    it.each(badPostal)('refuses the postal code %s', (postalCode) => {
      expect(faults({ ...base, ...ok, country, postalCode })).toEqual([['postalCode', 'format']]);
    });

    it('asks for exactly the fields its rule requires', () => {
      const rule = COUNTRY_RULES[country];
      const { postalCode: _postal, ...noPostal } = ok as Record<string, string>;
      expect(faults({ ...base, ...noPostal, country })).toEqual(rule.postalRequired ? [['postalCode', 'required']] : []);
      for (const field of ['city', 'state'] as const) {
        const without = { ...base, ...ok, country, [field]: undefined };
        expect(faults(without), field).toEqual(rule.required.includes(field) ? [[field, 'required']] : []);
      }
    });
  });

  it('normalises postal codes: case, spacing, full-width digits, the GB and JP layouts', () => {
    const gb = { ...base, city: 'London', country: 'GB' };
    expect(accepted({ ...gb, postalCode: 'sw1a1aa' }).postalCode).toBe('SW1A 1AA');
    expect(accepted({ ...gb, postalCode: '  ec1a   1bb ' }).postalCode).toBe('EC1A 1BB');
    expect(accepted({ ...gb, postalCode: 'M11AE' }).postalCode).toBe('M1 1AE');
    const jp = { ...base, city: 'Chiyoda-ku', state: 'Tokyo', country: 'JP' };
    expect(accepted({ ...jp, postalCode: '1000001' }).postalCode).toBe('100-0001');
    expect(accepted({ ...jp, postalCode: '１００－０００１' }).postalCode).toBe('100-0001');
    expect(accepted({ ...base, city: 'Jakarta', state: 'DKI', country: 'ID', postalCode: ' １０１１０ ' }).postalCode).toBe('10110');
    // A country with no rule of its own: optional, and it must look like a postal code.
    expect(accepted({ ...base, city: 'Paris', country: 'FR', postalCode: '75001' }).postalCode).toBe('75001');
    expect(accepted({ ...base, city: 'Dubai', country: 'AE' }).postalCode).toBeNull();
    expect(faults({ ...base, city: 'Paris', country: 'FR', postalCode: '75001!' })).toEqual([['postalCode', 'format']]);
  });

  it('US states are two-letter codes, upper-cased', () => {
    const us = { ...base, city: 'Springfield', postalCode: '62701', country: 'US' };
    expect(accepted({ ...us, state: 'il' }).state).toBe('IL');
    expect(faults({ ...us, state: 'Illinois' })).toEqual([['state', 'format']]);
  });

  it('phones are E.164 once spaces, dots, dashes and brackets are dropped', () => {
    const id = { ...base, city: 'Jakarta', state: 'DKI', postalCode: '10110', country: 'ID' };
    expect(accepted({ ...id, phone: '+62 812-3456.7890' }).phone).toBe('+6281234567890');
    expect(accepted({ ...id, phone: '+1 (415) 555-0100' }).phone).toBe('+14155550100');
    expect(accepted({ ...id, phone: '＋６２８１２３４５６７８９' }).phone).toBe('+628123456789');
    for (const phone of ['081234567890', '+0812345678', '+62 812', '+1234567890123456', '+62abc4567890', '++6281234567']) {
      expect(faults({ ...id, phone }), phone).toEqual([['phone', 'format']]);
    }
    expect(faults({ ...id, phone: '+6'.padEnd(40, '1') })).toEqual([['phone', 'too_long']]);
    expect(faults({ ...id, phone: undefined })).toEqual([['phone', 'required']]);
    expect(faults({ ...id, phone: 6281234567890 })).toEqual([['phone', 'invalid']]);
  });

  it('text goes through the one cleaner: controls, bidi overrides and lone surrogates go; limits count code points', () => {
    const sg = { ...base, postalCode: '018956', country: 'SG' };
    const a = accepted({ ...sg, name: '  Siti\u0000 \u202ERahma\u202C ', line1: 'Blk 1 \uD800Marina\n Blvd' });
    expect(a.name).toBe('Siti Rahma');
    expect(a.line1).toBe('Blk 1 Marina Blvd');
    expect(faults({ ...sg, name: '\u0007\u202E  ' })).toEqual([['name', 'required']]);
    expect(accepted({ ...sg, name: '😀'.repeat(100) }).name).toBe('😀'.repeat(100));
    expect(faults({ ...sg, name: 'a'.repeat(101) })).toEqual([['name', 'too_long']]);
    expect(faults({ ...sg, line1: 'a'.repeat(801) })).toEqual([['line1', 'too_long']]);
    expect(accepted({ ...sg, line2: '   ' }).line2).toBeNull();
  });

  it('countries are ISO 3166-1 alpha-2 (case-insensitive); anything else is named', () => {
    const sg = { ...base, postalCode: '018956' };
    expect(accepted({ ...sg, country: 'sg' }).country).toBe('SG');
    expect(faults({ ...sg, country: 'XX' })).toEqual([['country', 'unknown_country']]);
    expect(faults({ ...sg, country: 'SGP' })).toEqual([['country', 'unknown_country']]);
    expect(faults({ ...sg, country: undefined })).toEqual([['country', 'required']]);
    expect(faults({ ...sg, country: 65 })).toEqual([['country', 'invalid']]);
  });

  it('names every refused field, unknown fields included; refuses what is not an object', () => {
    expect(faults({ country: 'ID', phone: 'x', extra: 1, default: 'yes' })).toEqual([
      ['extra', 'invalid'], ['phone', 'format'], ['name', 'required'], ['line1', 'required'],
      ['postalCode', 'required'], ['city', 'required'], ['state', 'required'], ['default', 'invalid'],
    ]);
    for (const input of [null, 'address', [], 42]) expect(faults(input)).toEqual([['address', 'invalid']]);
  });

  it('validate throws ADDRESS_INVALID (400) with the first field, its reason and every fault', () => {
    expect(() => AddressRules.validate({ ...base, country: 'ID', city: 'Jakarta', state: 'DKI', postalCode: '123' })).toThrowError(
      expect.objectContaining({
        code: CommerceErrorCode.AddressInvalid, status: 400,
        details: { field: 'postalCode', reason: 'format', faults: [{ field: 'postalCode', reason: 'format' }] },
      }),
    );
    const ok = AddressRules.validate({ ...base, country: 'SG', postalCode: '018956', default: true });
    expect(ok.makeDefault).toBe(true);
    expect(ok.address).toEqual({ ...base, line2: null, district: null, city: null, state: null, postalCode: '018956', country: 'SG' });
  });
});
