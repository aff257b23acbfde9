"""The report's stylesheet: a laptop screen, a phone (below 640 px) and print (A4 PDF).

Images are at most the page's width and keep their aspect ratio; wide tables scroll inside
their own box, so nothing widens the page; on a narrow screen the answers' tables stack each
row's cells under their headings. In print the navigation goes, each major section starts on
a new page, and figures, tables and answers are not split across pages.
"""

CSS = """\
:root { --text: #1f2328; --muted: #57606a; --accent: #2f5d8a; --rule: #d8dee4; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; font-size: 16px; line-height: 1.5; color: var(--text); max-width: 1080px;
  margin: 0 auto; padding: 1.5rem 1.25rem 3rem; overflow-wrap: break-word; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.4rem; margin: 2.2em 0 0.6em; padding-bottom: 0.2em;
  border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.3em 0 0.4em; }
nav { display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; font-size: 0.95rem; }
a { color: var(--accent); }
figure { margin: 1.4em 0; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: var(--muted); max-width: 46em; margin-top: 0.3em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.93rem; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
.answer { background: #f6f8fa; border-left: 4px solid var(--accent); border-radius: 4px;
  padding: 0.3em 1.1em 0.8em; margin: 1em 0; }
.answer-table { width: 100%; background: #fff; }
.answer ul { padding-left: 1.2em; }
.caveat { color: #7a4b00; }
.n { font-variant-numeric: tabular-nums; white-space: nowrap; }
#glossary dt { font-weight: 600; margin-top: 0.6em; }
#glossary dd { margin: 0 0 0 1em; }
@media (max-width: 640px) {
  body { font-size: 15px; padding: 1rem 0.8rem 2rem; }
  h1 { font-size: 1.45rem; }
  .answer { padding: 0.2em 0.7em 0.6em; }
  .answer-table thead { display: none; }
  .answer-table, .answer-table tbody, .answer-table tr, .answer-table td { display: block;
    width: 100%; }
  .answer-table tr { border-bottom: 1px solid var(--rule); padding: 0.4em 0; }
  .answer-table td { border: 0; padding: 2px 0; }
  .answer-table td::before { content: attr(data-label) ": "; font-weight: 600;
    color: var(--muted); }
}
@media print {
  @page { size: A4; margin: 15mm 14mm; }
  body { font-size: 10pt; max-width: none; padding: 0; }
  nav { display: none; }
  a { color: inherit; text-decoration: none; }
  section + section > h2 { break-before: page; }
  h2, h3 { break-after: avoid; }
  figure, table, tr, .answer, dl { break-inside: avoid; }
  .scroll { overflow: visible; }
  .answer { background: none; }
  figure img { max-height: 120mm; width: auto; }
}"""
