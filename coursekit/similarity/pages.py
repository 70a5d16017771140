"""The HTML report of a Comparison: index.html (the reported pairs, ranked) and one page per pair
(pair-0001.html, ...) with each matching unit's two texts side by side, the matched fingerprint
regions marked. Self-contained: inline CSS, no script, nothing loaded from elsewhere; every text
a student wrote is escaped (jinja2's autoescape, copydetect's escape_html)."""
from pathlib import Path

import jinja2
from markupsafe import Markup

from coursekit import untrusted

from .compare import highlighted

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3em .6em;
vertical-align: top; text-align: left; } .note { background: #fff6d6; padding: .6em 1em;
border-left: 4px solid #e0b400; max-width: 60em; } .side { display: grid;
grid-template-columns: 1fr 1fr; gap: 1em; } pre { background: #f7f7f7; padding: .6em;
overflow-x: auto; font-size: 85%; } mark { background: #ffd27a; } .low { color: #777; }
"""

NOTE = ("Instructors only: never share this page with students. A high score means two texts "
        "share long stretches of the same token sequence once names, spacing and comments are "
        "ignored; it is evidence to review, not a verdict. Read the marked code side by side, "
        "consider what the assignment's contract leaves open, and talk to the students before "
        "deciding anything (docs/similarity.md).")

INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Similarity report</title>
<style>{{ style }}</style></head><body>
<h1>Similarity report: {{ assignment }}</h1>
<p class="note">{{ note }}</p>
<p>{{ submissions }} submissions and {{ references }} reference folders compared on
{{ units }} units (student functions and solution cells). A unit is flagged at a score of
{{ s.threshold }} or more; {{ pairs|length }} pairs have a flagged unit.</p>
<p class="low">Settings: threshold {{ s.threshold }}, min_fingerprints {{ s.min_fingerprints }},
common_fraction {{ s.common_fraction }}, k {{ s.k }}, window {{ s.window }}.</p>
{% if pairs %}
<table><tr><th>#</th><th>pair</th><th>evidence</th><th>flagged units (score)</th></tr>
{% for p in pairs %}<tr><td>{{ loop.index }}</td>
<td><a href="{{ p.page }}">{{ p.a }} &amp; {{ p.b }}</a></td>
<td>{{ '%.2f'|format(p.evidence) }}</td>
<td>{% for m in p.flagged %}{{ m.title }} ({{ '%.2f'|format(m.score) }}){% if not loop.last %},
{% endif %}{% endfor %}</td></tr>
{% endfor %}</table>
{% else %}<p>No pair reaches the threshold.</p>{% endif %}
{% if problems %}<h2>Not compared</h2><ul>
{% for name, text in problems %}<li>{{ name }}: {{ text }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""

PAIR = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ a }} &amp; {{ b }}</title>
<style>{{ style }}</style></head><body>
<p><a href="index.html">All pairs</a></p>
<h1>{{ a }} &amp; {{ b }}</h1>
<p class="note">{{ note }}</p>
<p>Evidence {{ '%.2f'|format(evidence) }}: the sum of the scores of the flagged units. Units
scoring {{ floor }} or more are shown; those under the threshold ({{ threshold }}) are grey.</p>
{% for u in units %}
<h2 class="{{ '' if u.flagged else 'low' }}">{{ u.title }}: score {{ '%.2f'|format(u.score) }}</h2>
<p class="low">similarity {{ '%.2f'|format(u.similarity) }} ({{ u.shared }} shared fingerprints
of {{ u.counts[0] }} and {{ u.counts[1] }}), weight {{ '%.2f'|format(u.weight) }}</p>
<div class="side"><div><b>{{ a }}</b><pre>{{ u.left }}</pre></div>
<div><b>{{ b }}</b><pre>{{ u.right }}</pre></div></div>
{% endfor %}
</body></html>
"""


def _display(name):
    return name.replace("reference:", "reference ")


def write_report(comparison, assignment, out_dir, title=""):
    """Write the report of `comparison` into `out_dir` (emptied first). Returns index.html."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    settings = comparison.settings
    units = assignment.by_key()
    sources = {s.name: s for s in comparison.sources}
    out_dir = untrusted.reset_folder(Path(out_dir))
    rows = []
    for number, pair in enumerate(comparison.reported(), 1):
        page = f"pair-{number:04d}.html"
        shown = []
        for match in sorted(pair.units.values(), key=lambda m: -m.score):
            left_text = sources[pair.a].texts[match.unit][match.texts[0]]
            right_text = sources[pair.b].texts[match.unit][match.texts[1]]
            left, right = highlighted(left_text, right_text, comparison.left_out[match.unit],
                                      settings)
            shown.append({"title": units[match.unit].title, "score": match.score,
                          "similarity": match.similarity, "shared": match.shared,
                          "counts": match.counts, "weight": match.weight,
                          "flagged": match.score >= settings.threshold,
                          "left": Markup(left), "right": Markup(right)})
        evidence = pair.evidence(settings.threshold)
        html = env.from_string(PAIR).render(
            style=STYLE, note=NOTE, a=_display(pair.a), b=_display(pair.b), units=shown,
            evidence=evidence, floor=settings.threshold / 2, threshold=settings.threshold)
        (out_dir / page).write_text(html, encoding="utf-8")
        flagged = [{"title": units[m.unit].title, "score": m.score}
                   for m in pair.flagged(settings.threshold)]
        rows.append({"page": page, "a": _display(pair.a), "b": _display(pair.b),
                     "evidence": evidence, "flagged": flagged})
    problems = [(_display(s.name), text) for s in comparison.sources for text in s.problems]
    html = env.from_string(INDEX).render(
        style=STYLE, note=NOTE, assignment=title or assignment.package, s=settings, pairs=rows,
        submissions=sum(1 for s in comparison.sources if not s.reference),
        references=sum(1 for s in comparison.sources if s.reference),
        units=len(assignment.units), problems=problems)
    index = out_dir / "index.html"
    index.write_text(html, encoding="utf-8")
    return index
