import { createHash } from 'node:crypto';
import type { OpenApiDocument } from './openApi.js';

/**
 * Renders the OpenAPI document in the browser page. It runs there, from its source text
 * (`Function.prototype.toString`), so it uses nothing outside itself; it builds the page with
 * DOM calls and `textContent` only (no HTML from the document is ever parsed).
 */
function renderSpec(): void {
  type J = Record<string, any>;
  const spec = JSON.parse(document.getElementById('spec')!.textContent!) as J;
  const schemas: Record<string, J> = spec.components?.schemas ?? {};

  function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string | null | undefined)[]): HTMLElement {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  /** Text with `code` spans and **bold**, nothing else. */
  function prose(text: string): HTMLElement {
    const p = h('div', { class: 'prose' });
    for (const line of String(text ?? '').split('\n')) {
      const row = h(line.startsWith('- ') ? 'li' : 'p');
      const body = line.startsWith('- ') ? line.slice(2) : line;
      for (const [i, part] of body.split(/(`[^`]*`|\*\*[^*]*\*\*)/).entries()) {
        if (i % 2 === 0) row.append(part);
        else if (part.startsWith('`')) row.append(h('code', {}, part.slice(1, -1)));
        else row.append(h('strong', {}, part.slice(2, -2)));
      }
      p.append(row);
    }
    return p;
  }
  function refName(ref: string): string {
    return ref.split('/').pop()!;
  }
  function typeOf(s: J): string {
    if (s.$ref) return refName(s.$ref);
    if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' | ');
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.anyOf) return s.anyOf.map(typeOf).join(' | ');
    if (s.type === 'array') return `${typeOf(s.items ?? {})}[]`;
    if (Array.isArray(s.type)) return s.type.join(' | ');
    if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) return `map of ${typeOf(s.additionalProperties)}`;
    return s.type ?? 'any';
  }
  function constraints(s: J): string {
    const out: string[] = [];
    for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'pattern', 'format', 'default']) {
      if (s[k] !== undefined) out.push(`${k} ${typeof s[k] === 'string' ? s[k] : JSON.stringify(s[k])}`);
    }
    return out.join(', ');
  }
  function typeCell(s: J): HTMLElement {
    const cell = h('span', { class: 'type' });
    const ref = s.$ref ?? s.items?.$ref;
    if (ref) cell.append(h('a', { href: `#schema-${refName(ref)}` }, typeOf(s)));
    else cell.append(typeOf(s));
    const c = constraints(s);
    if (c) cell.append(h('span', { class: 'muted' }, ` (${c})`));
    return cell;
  }
  /** A schema as nested field lists (objects and arrays of objects are expanded; references link). */
  function schemaView(s: J, depth = 0): HTMLElement {
    const box = h('div', { class: 'schema' });
    if (s.description) box.append(prose(s.description));
    const obj = s.type === 'array' && s.items?.properties ? s.items : s;
    if (!obj.properties || depth > 6) {
      box.append(typeCell(s));
      return box;
    }
    if (obj !== s) box.append(h('div', { class: 'muted' }, 'array of:'));
    const required = new Set<string>(obj.required ?? []);
    const list = h('ul', { class: 'fields' });
    for (const [name, prop] of Object.entries(obj.properties as Record<string, J>)) {
      const item = h('li', {}, h('code', {}, name), required.has(name) ? h('span', { class: 'req' }, ' required') : h('span', { class: 'muted' }, ' optional'), ' ', typeCell(prop));
      if (prop.description) item.append(prose(prop.description));
      const inner = prop.type === 'array' ? prop.items : prop;
      if (inner?.properties) item.append(schemaView(prop, depth + 1));
      list.append(item);
    }
    box.append(list);
    return box;
  }

  const nav = h('nav');
  const main = h('main');
  main.append(h('h1', {}, `${spec.info.title} ${spec.info.version}`), prose(spec.info.description), h('p', {}, h('a', { href: '/openapi.json' }, 'openapi.json'), ' (OpenAPI 3.1)'));
  const byTag = new Map<string, [string, string, J][]>();
  for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, J>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] ?? 'api';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push([method, path, op]);
    }
  }
  for (const tag of [...byTag.keys()].sort()) {
    nav.append(h('h3', {}, tag));
    main.append(h('h2', { id: `tag-${tag}` }, tag));
    for (const [method, path, op] of byTag.get(tag)!) {
      const id = op.operationId as string;
      nav.append(h('a', { href: `#${id}` }, h('span', { class: `m ${method}` }, method.toUpperCase()), ` ${path}`));
      const section = h('details', { id, class: 'op' });
      section.append(h('summary', {}, h('span', { class: `m ${method}` }, method.toUpperCase()), ' ', h('code', {}, path), ' ', h('span', { class: 'muted' }, op.summary ?? '')));
      const p = op['x-policy'] ?? {};
      section.append(h('p', {}, h('strong', {}, 'Policy: '), h('code', {}, p.action ?? '?'), p.public ? ' — public, no token' : ` — token of role ${(p.roles ?? []).join(', ')}`, op['x-idempotent'] ? h('span', { class: 'badge' }, 'Idempotency-Key') : null));
      if (op.description) section.append(prose(op.description));
      if (op.parameters?.length) {
        const t = h('table', {}, h('tr', {}, h('th', {}, 'parameter'), h('th', {}, 'in'), h('th', {}, 'type')));
        for (const prm of op.parameters as J[]) t.append(h('tr', {}, h('td', {}, h('code', {}, prm.name), prm.required ? h('span', { class: 'req' }, ' required') : null), h('td', {}, prm.in), h('td', {}, typeCell(prm.schema ?? {}))));
        section.append(t);
      }
      if (op.requestBody) {
        for (const [type, media] of Object.entries(op.requestBody.content as Record<string, J>)) {
          section.append(h('h4', {}, `Request body (${type})${op.requestBody.required ? '' : ', optional'}`), schemaView(media.schema ?? {}));
        }
      }
      section.append(h('h4', {}, 'Responses'));
      for (const [status, r] of Object.entries(op.responses as Record<string, J>)) {
        const row = h('div', { class: `resp s${status[0]}` }, h('strong', {}, status), ' ', r.description ?? '');
        for (const [type, media] of Object.entries((r.content ?? {}) as Record<string, J>)) {
          if (media.schema?.$ref === '#/components/schemas/Error') row.append(' → ', h('a', { href: '#schema-Error' }, 'Error'));
          else row.append(h('div', { class: 'muted' }, type), schemaView(media.schema ?? {}));
        }
        section.append(row);
      }
      main.append(section);
    }
  }
  nav.append(h('h3', {}, 'schemas'));
  main.append(h('h2', { id: 'schemas' }, 'Schemas'));
  for (const [name, s] of Object.entries(schemas)) {
    nav.append(h('a', { href: `#schema-${name}` }, name));
    main.append(h('h3', { id: `schema-${name}` }, name), schemaView(s));
  }
  const codes: string[] = schemas.ErrorCode?.enum ?? [];
  main.append(h('h2', { id: 'codes' }, `Error codes (${codes.length})`), h('p', { class: 'codes' }, ...codes.map((c) => h('code', {}, c))));
  document.body.append(nav, main);
  // Open the operation a link points at.
  const open = () => {
    const target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    if (target instanceof HTMLDetailsElement) target.open = true;
  };
  window.addEventListener('hashchange', open);
  open();
}

const STYLE = `
body{margin:0;display:flex;font:15px/1.45 system-ui,sans-serif;color:#1d2330}
nav{position:sticky;top:0;height:100vh;overflow:auto;width:330px;flex:none;padding:12px;background:#f4f5f8;border-right:1px solid #dde}
nav a{display:block;font-size:13px;color:#1d2330;text-decoration:none;padding:2px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
nav h3{margin:14px 0 4px;font-size:12px;text-transform:uppercase;color:#667}
main{padding:16px 32px;max-width:1000px;overflow:auto}
code{font:13px ui-monospace,monospace;background:#f0f1f4;padding:1px 4px;border-radius:3px}
.m{display:inline-block;min-width:54px;text-align:center;font:bold 11px ui-monospace,monospace;color:#fff;border-radius:3px;padding:2px 4px}
.get{background:#2f7d32}.post{background:#1e63c4}.put{background:#a76a00}.patch{background:#7b4bb7}.delete{background:#b3261e}
details.op{border:1px solid #dde;border-radius:6px;margin:8px 0;padding:6px 12px}
details.op>summary{cursor:pointer}
.muted{color:#667}.req{color:#b3261e;font-size:12px}.badge{margin-left:8px;font-size:12px;background:#e8eefc;border-radius:3px;padding:1px 6px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #dde;padding:3px 8px;text-align:left;font-size:13px}
ul.fields{margin:4px 0;padding-left:18px}.schema .prose p{margin:2px 0}
.resp{margin:4px 0;padding:4px 8px;border-left:3px solid #ccd}.s2{border-color:#2f7d32}.s4{border-color:#a76a00}.s5{border-color:#b3261e}
.codes code{display:inline-block;margin:2px}
`;

/**
 * The API's readable rendering: one self-contained HTML page (the document, the style and the
 * renderer inline; no CDN, no request), with the Content-Security-Policy that lets only its
 * own script run.
 */
export function renderApiDocs(doc: OpenApiDocument): { html: string; csp: string } {
  const script = `(${renderSpec.toString()})();`;
  const hash = createHash('sha256').update(script).digest('base64');
  // `<` is escaped so the document cannot close its script element.
  const data = JSON.stringify(doc).replace(/</g, '\\u003c');
  const html = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.info.title)} ${escapeHtml(doc.info.version)}</title>`,
    `<style>${STYLE}</style>`,
    `<script type="application/json" id="spec">${data}</script>`,
    '</head><body>',
    `<script>${script}</script>`,
    '</body></html>',
  ].join('\n');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, csp };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
