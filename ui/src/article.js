// An article's body for the tray's windows. The desk sends it as HTML it
// already sanitized; the page still trusts none of it: the HTML is parsed
// into an inert document (nothing in it runs or loads) and only plain
// structure is copied over, text as text. Links become text with their
// address (a click would navigate the app's window away); images are left
// out (the tray cannot load the desk's files).

const KEEP = new Set([
  'P', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'UL', 'OL', 'LI', 'STRONG', 'EM', 'B', 'I', 'CODE', 'PRE',
  'BLOCKQUOTE', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'BR', 'HR', 'DEL', 'S', 'SUP', 'SUB',
]);
// Elements whose content is not text to read.
const DROP = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'IMG', 'SVG', 'MATH', 'NOSCRIPT']);

/** The article's `html` as nodes of `doc`, safe to append. */
export function articleNodes(html, doc = document) {
  const parsed = new DOMParser().parseFromString(String(html ?? ''), 'text/html');
  return [...parsed.body.childNodes].flatMap((n) => copy(n, doc));
}

function copy(node, doc) {
  if (node.nodeType === 3) return [doc.createTextNode(node.nodeValue)];
  if (node.nodeType !== 1) return [];
  const tag = node.nodeName.toUpperCase();
  if (DROP.has(tag)) return [];
  const children = () => [...node.childNodes].flatMap((c) => copy(c, doc));
  if (tag === 'INPUT') {
    // A task list's box.
    return node.getAttribute('type') === 'checkbox' ? [doc.createTextNode(node.hasAttribute('checked') ? '☑ ' : '☐ ')] : [];
  }
  if (tag === 'A') {
    const href = node.getAttribute('href') || '';
    const text = node.textContent || '';
    const shown = /^(https?:|mailto:)/i.test(href) && href !== text ? ` (${href.replace(/^mailto:/i, '')})` : '';
    const span = doc.createElement('span');
    span.className = 'link';
    span.append(...children(), doc.createTextNode(shown));
    return [span];
  }
  if (!KEEP.has(tag)) return children();
  const el = doc.createElement(tag.toLowerCase());
  el.append(...children());
  return [el];
}
