// Note export, all in the browser: the notes are opened here and written to
// a file the person downloads; nothing decrypted goes back to the server.
// Two formats: JSON (everything, values typed) and CSV (one row per note,
// one column per custom field, for a spreadsheet).
//
// Input rows: {id, callId, author, authorName, createdAt, updatedAt,
// revision, opened} where opened is notes.openNote's result.

export const EXPORT_TYPE = 'llamenos-notes-export';

function fieldsOut(defs) {
  return (defs || []).map((d) => {
    const o = { id: d.id, label: d.label, type: d.type };
    if (d.options) o.options = d.options;
    return o;
  });
}

export function toJSONExport(rows, defs, { exportedAt, hotline = '' } = {}) {
  const notes = rows.map((r) => {
    const base = {
      id: r.id,
      callId: r.callId,
      author: r.author,
      authorName: r.authorName || '',
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      revision: r.revision,
    };
    if (!r.opened || !r.opened.ok) return { ...base, error: r.opened ? r.opened.reason : 'missing' };
    return { ...base, text: r.opened.payload.text, fields: r.opened.payload.fields };
  });
  return JSON.stringify({ type: EXPORT_TYPE, version: 1, hotline, exportedAt, fields: fieldsOut(defs), notes }, null, 2) + '\n';
}

// csvCell quotes per RFC 4180 and defuses spreadsheet formulas: a text cell
// starting with = + - @ or a control character gets a leading apostrophe, so
// a note cannot run a formula in whoever opens the file (OWASP "CSV
// injection"). Numbers and booleans are written as they are.
export function csvCell(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n']/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCSV(rows, defs) {
  const fieldDefs = defs || [];
  const known = new Set(fieldDefs.map((d) => d.id));
  const header = ['note_id', 'call_id', 'author', 'author_name', 'created_at', 'updated_at', 'revision', 'text', ...fieldDefs.map((d) => d.label), 'other_fields', 'error'];
  const lines = [header.map(csvCell).join(',')];
  for (const r of rows) {
    const ok = r.opened && r.opened.ok;
    const p = ok ? r.opened.payload : { text: '', fields: {} };
    const other = Object.fromEntries(Object.entries(p.fields).filter(([k]) => !known.has(k)));
    const cells = [
      r.id,
      r.callId,
      r.author,
      r.authorName || '',
      r.createdAt,
      r.updatedAt,
      r.revision,
      p.text,
      ...fieldDefs.map((d) => p.fields[d.id]),
      Object.keys(other).length ? JSON.stringify(other) : '',
      ok ? '' : r.opened ? r.opened.reason : 'missing',
    ];
    lines.push(cells.map(csvCell).join(','));
  }
  // The byte order mark makes spreadsheet programs read the file as UTF-8
  // (accents in Spanish notes would otherwise be garbled).
  return '\uFEFF' + lines.join('\r\n') + '\r\n';
}

export function exportFilename(scope, ext, now = new Date()) {
  return `llamenos-notes-${scope}-${now.toISOString().slice(0, 10)}.${ext}`;
}

// collectPages drains a cursor-paged list: fetchPage(cursor) → {items, next}.
// Bounded, so a server that always returns a cursor cannot loop forever.
export async function collectPages(fetchPage, { maxPages = 1000 } = {}) {
  const out = [];
  let cursor = '';
  for (let i = 0; i < maxPages; i++) {
    const { items, next } = await fetchPage(cursor);
    out.push(...items);
    if (!next || next === cursor) return out;
    cursor = next;
  }
  throw new Error(`export: more than ${maxPages} pages`);
}
