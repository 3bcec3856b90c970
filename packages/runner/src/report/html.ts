/** Small HTML helpers: escaping, tables, and data or code safe inside a `<script>` element. */

export function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** JSON for a `<script type="application/json">` element: no `</script>` can end it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** JavaScript source for an inline `<script>` element. */
export function scriptCode(code: string): string {
  return code.replace(/<\/script/gi, '<\\/script');
}

/** A cell: plain text (escaped), or `{ html }` already built. */
export type Cell = string | number | { readonly html: string; readonly title?: string; readonly cls?: string };

function cell(tag: 'td' | 'th', c: Cell): string {
  if (typeof c === 'object') {
    const attrs = `${c.title !== undefined ? ` title="${esc(c.title)}"` : ''}${c.cls !== undefined ? ` class="${esc(c.cls)}"` : ''}`;
    return `<${tag}${attrs}>${c.html}</${tag}>`;
  }
  return `<${tag}${typeof c === 'number' ? ' class="num"' : ''}>${esc(c)}</${tag}>`;
}

export function table(header: readonly Cell[], rows: readonly (readonly Cell[])[], cls = ''): string {
  return [
    `<table${cls ? ` class="${esc(cls)}"` : ''}>`,
    `<thead><tr>${header.map((h) => cell('th', h)).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c) => cell('td', c)).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

/** A definition list of key/value pairs (values escaped unless given as `{ html }`). */
export function definitions(pairs: readonly (readonly [string, string | { readonly html: string }])[]): string {
  return `<dl>${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${typeof v === 'object' ? v.html : esc(v)}</dd>`).join('')}</dl>`;
}
