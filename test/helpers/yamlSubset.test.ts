import { describe, expect, it } from 'vitest';
import { parseYamlSubset } from './yamlSubset.js';

describe('parseYamlSubset', () => {
  it('reads maps, lists of maps and quoted scalars', () => {
    const doc = parseYamlSubset(
      [
        '# a comment',
        'groups:',
        '  - name: g',
        '    rules:',
        "      - alert: A",
        "        expr: 'rate(x{a=\"b\"}[5m]) > 0.5'",
        '        labels:',
        '          severity: page',
        "      - alert: \"B\"",
        "        expr: 'it''s'",
        '  - name: h',
        '    rules:',
        '      - plain',
      ].join('\n'),
    );
    expect(doc).toEqual({
      groups: [
        { name: 'g', rules: [{ alert: 'A', expr: 'rate(x{a="b"}[5m]) > 0.5', labels: { severity: 'page' } }, { alert: 'B', expr: "it's" }] },
        { name: 'h', rules: ['plain'] },
      ],
    });
  });

  it('refuses what it does not know instead of guessing', () => {
    const bad = [
      'a:\n\tb: c', // tab
      'a: {b: c}', // flow map
      'a: [1, 2]', // flow list
      'a: |\n  text', // block scalar
      'a: &x b', // anchor
      'a: b: c', // plain scalar with ": "
      'a: b #c', // trailing comment
      'a: 1\na: 2', // duplicate key
      'a:\n  b: 1\n   c: 2', // bad indent
      "a: 'it's'", // lone quote
      'a:', // no value
      '  a: 1', // indented document
    ];
    for (const text of bad) expect(() => parseYamlSubset(text), JSON.stringify(text)).toThrow(SyntaxError);
  });
});
