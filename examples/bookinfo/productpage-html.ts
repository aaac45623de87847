/**
 * The pages productpage renders, as pure functions of the data it gathered. Every value that reaches the
 * markup passes through escapeHtml: reviews, details and the user name all come from outside.
 */

export interface Product {
  id: number;
  title: string;
  summary: string;
  summaryLink: string;
}

/** What productpage got back from one upstream: the JSON body, or the error text to show instead. */
export type Upstream<T> = { ok: true; value: T } | { ok: false; error: string };

export interface ReviewView {
  reviewer?: unknown;
  text?: unknown;
  rating?: { stars?: unknown; color?: unknown; error?: unknown };
}

export interface ReviewsView {
  podname?: unknown;
  clustername?: unknown;
  reviews?: ReviewView[];
}

export interface ProductPageModel {
  product: Product;
  user: string;
  details: Upstream<Record<string, unknown>>;
  reviews: Upstream<ReviewsView>;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** A CSS colour name or hex value only; anything else from upstream falls back to black. */
function safeColor(value: unknown): string {
  return typeof value === 'string' && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,20})$/.test(value) ? value : 'black';
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/static/css/bookinfo.css">
</head>
<body>
${body}
</body>
</html>
`;
}

function navigation(user: string): string {
  const account =
    user === ''
      ? `<form class="sign-in" method="post" action="/login">
  <input type="text" name="username" placeholder="User Name" aria-label="User Name">
  <input type="password" name="passwd" placeholder="Password" aria-label="Password">
  <button type="submit">Sign in</button>
</form>`
      : `<span class="user">${escapeHtml(user)}</span> <a class="sign-out" href="/logout">Sign out</a>`;
  return `<nav><a class="brand" href="/productpage">BookInfo Sample</a><div class="account">${account}</div></nav>`;
}

function detailsSection(details: ProductPageModel['details']): string {
  if (!details.ok) return `<h4 class="error">${escapeHtml(details.error)}</h4>`;
  const d = details.value;
  const rows: [string, unknown][] = [
    ['Type', d.type],
    ['Pages', d.pages],
    ['Publisher', d.publisher],
    ['Language', d.language],
    ['ISBN-10', d['ISBN-10']],
    ['ISBN-13', d['ISBN-13']],
  ];
  const dl = rows.map(([k, v]) => `<dt>${escapeHtml(k)}:</dt><dd>${escapeHtml(v)}</dd>`).join('\n');
  return `<h4>Book Details</h4>\n<dl class="details">\n${dl}\n</dl>`;
}

function starsMarkup(rating: ReviewView['rating']): string {
  if (rating === undefined) return '';
  if (rating.error !== undefined) return `<p class="rating-error">${escapeHtml(rating.error)}</p>`;
  const stars = typeof rating.stars === 'number' ? Math.max(0, Math.min(5, Math.trunc(rating.stars))) : 0;
  const color = safeColor(rating.color);
  return `<p class="stars" data-stars="${stars}" data-color="${escapeHtml(color)}" style="color: ${escapeHtml(color)}">${'★'.repeat(stars)}${'☆'.repeat(5 - stars)}</p>`;
}

function reviewsSection(reviews: ProductPageModel['reviews']): string {
  if (!reviews.ok) return `<h4 class="error">${escapeHtml(reviews.error)}</h4>`;
  const items = (reviews.value.reviews ?? [])
    .map(
      (r) => `<blockquote>
<p>${escapeHtml(r.text)}</p>
<small>${escapeHtml(r.reviewer)}</small>
${starsMarkup(r.rating)}
</blockquote>`,
    )
    .join('\n');
  return `<h4>Book Reviews</h4>
${items}
<dl class="served-by"><dt>Reviews served by:</dt><dd>${escapeHtml(reviews.value.podname)}</dd>
<dt>Cluster:</dt><dd>${escapeHtml(reviews.value.clustername)}</dd></dl>`;
}

export function renderProductPage(model: ProductPageModel): string {
  const { product } = model;
  return page(
    'Simple Bookstore App',
    `${navigation(model.user)}
<main>
<h3 class="title">${escapeHtml(product.title)}</h3>
<p class="summary"><a href="${escapeHtml(product.summaryLink)}">Summary</a>: ${escapeHtml(product.summary)}</p>
<div class="columns">
<section class="details">${detailsSection(model.details)}</section>
<section class="reviews">${reviewsSection(model.reviews)}</section>
</div>
</main>`,
  );
}

export function renderIndex(services: { name: string; url: string; calls: string[] }[]): string {
  const rows = services
    .map((s) => `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.url)}</td><td>${escapeHtml(s.calls.join(', '))}</td></tr>`)
    .join('\n');
  return page(
    'Simple Bookstore App',
    `<main>
<h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
<table class="services"><tr><th>Service</th><th>Address</th><th>Calls</th></tr>
${rows}
</table>
<p>Click on one of the links below to auto generate a request to the backend as a real user or a tester</p>
<p><a href="/productpage?u=normal">Normal user</a></p>
<p><a href="/productpage?u=test">Test user</a></p>
</main>`,
  );
}

export const BOOKINFO_CSS = `body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
nav { display: flex; justify-content: space-between; align-items: center; background: #2d3e50; color: #fff; padding: .6em 1em; }
nav a { color: #fff; text-decoration: none; }
.brand { font-weight: bold; }
main { max-width: 60em; margin: 1em auto; padding: 0 1em; }
.title { text-align: center; }
.columns { display: flex; gap: 2em; }
.columns > section { flex: 1; }
dl.details dt, dl.served-by dt { font-weight: bold; }
blockquote { border-left: 4px solid #ddd; margin: 1em 0; padding: .2em 1em; }
.stars { font-size: 1.4em; margin: .2em 0; }
.error, .rating-error { color: #b00; }
table.services td, table.services th { border: 1px solid #ccc; padding: .3em .6em; }
`;
