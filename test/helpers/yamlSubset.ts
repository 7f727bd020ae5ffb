/** A value of the YAML subset: a string, a list or a map. */
export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  text: string;
  n: number;
}

/**
 * Parses the block-style YAML subset the ops files are written in (deploy/prometheus/alerts.yml):
 * maps (`key: value`, `key:` then an indented block), lists (`- item`, `- key: value`),
 * full-line comments, and one-line scalars: plain, 'single-quoted' or "double-quoted". Anything
 * else (tabs, flow collections, block scalars, anchors, tags, a plain scalar holding ': ' or
 * ' #', a duplicate key, a bad indent) throws with its line number, so a file this accepts has
 * the structure it appears to have. Scalars stay strings.
 */
export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = [];
  source.split('\n').forEach((text, i) => {
    if (text.includes('\t')) throw new SyntaxError(`line ${i + 1}: tab`);
    const trimmed = text.trim();
    if (trimmed !== '' && !trimmed.startsWith('#')) lines.push({ text: text.trimEnd(), n: i + 1 });
  });
  let at = 0;
  const indentOf = (line: Line): number => line.text.length - line.text.trimStart().length;
  const fail = (line: Line, why: string): never => {
    throw new SyntaxError(`line ${line.n}: ${why}: ${line.text.trim()}`);
  };
  const KEY = /^([A-Za-z_][A-Za-z0-9_.-]*):(?: (.*))?$/;

  const scalar = (raw: string, line: Line): string => {
    const s = raw.trim();
    if (s.startsWith("'")) {
      if (s.length < 2 || !s.endsWith("'") || /(^|[^'])'([^']|$)/.test(s.slice(1, -1))) fail(line, 'bad single-quoted scalar');
      return s.slice(1, -1).replace(/''/g, "'");
    }
    if (s.startsWith('"')) {
      try {
        return JSON.parse(s) as string;
      } catch {
        return fail(line, 'bad double-quoted scalar');
      }
    }
    if (/^[[\]{}&*!|>%@`,?]/.test(s)) fail(line, 'unsupported YAML');
    if (s.includes(': ') || s.includes(' #')) fail(line, 'plain scalar with ": " or " #" (quote it)');
    return s;
  };

  const block = (indent: number): YamlValue => (lines[at].text.slice(indent).startsWith('- ') ? list(indent) : map(indent));

  const value = (key: string, rest: string | undefined, line: Line, indent: number): YamlValue => {
    if (rest !== undefined && rest !== '') return scalar(rest, line);
    if (at < lines.length && indentOf(lines[at]) > indent) return block(indentOf(lines[at]));
    return fail(line, `no value for ${key}`);
  };

  const map = (indent: number): YamlValue => {
    const out: { [key: string]: YamlValue } = {};
    while (at < lines.length) {
      const line = lines[at];
      const indentHere = indentOf(line);
      if (indentHere < indent) break;
      if (indentHere > indent) fail(line, 'unexpected indent');
      const match = KEY.exec(line.text.slice(indent));
      if (!match) fail(line, 'expected "key: value"');
      const [, key, rest] = match!;
      if (Object.hasOwn(out, key)) fail(line, `duplicate key ${key}`);
      at++;
      out[key] = value(key, rest, line, indent);
    }
    return out;
  };

  const list = (indent: number): YamlValue => {
    const out: YamlValue[] = [];
    while (at < lines.length) {
      const line = lines[at];
      const indentHere = indentOf(line);
      if (indentHere < indent) break;
      if (indentHere > indent) fail(line, 'unexpected indent');
      const body = line.text.slice(indent);
      if (!body.startsWith('- ')) fail(line, 'expected "- item"');
      const rest = body.slice(2);
      if (KEY.test(rest)) {
        // `- key: value` opens a map whose keys sit two columns further in.
        lines[at] = { text: `${' '.repeat(indent + 2)}${rest}`, n: line.n };
        out.push(map(indent + 2));
      } else {
        out.push(scalar(rest, line));
        at++;
      }
    }
    return out;
  };

  if (lines.length === 0) throw new SyntaxError('empty document');
  if (indentOf(lines[0]) !== 0) fail(lines[0], 'the document must start at column 0');
  const doc = block(0);
  if (at < lines.length) fail(lines[at], 'unexpected line');
  return doc;
}
