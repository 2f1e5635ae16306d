"""A strict reader of the Prometheus text exposition format 0.0.4, for tests.

Stricter than Prometheus itself where tracegate should be: every line is a
HELP, a TYPE or a sample (no blank lines, no other comments); every family
has one HELP and one TYPE before its first sample and its samples are
contiguous; no series appears twice; label values use only the three escapes
the format defines and are valid UTF-8; counters are not negative and end in
_total; histogram buckets are cumulative with a +Inf bucket equal to _count,
and _sum is present. parse() raises ValueError naming the line at fault.
"""

import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
FLOAT = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN"
HELP_RE = re.compile(r"^# HELP (%s) ((?:[^\\\n]|\\\\|\\n)*)$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABEL_RE = re.compile(r'(%s)=("(?:[^"\\\n]|\\\\|\\"|\\n)*")' % LABEL_NAME)
SAMPLE_RE = re.compile(r"^(?P<name>%s)(?P<labels>\{(?:%s=%s(?:,%s=%s)*,?)?\})?"
                       r" (?P<value>%s)(?: -?[0-9]+)?$"
                       % (NAME, LABEL_NAME, LABEL_VALUE, LABEL_NAME, LABEL_VALUE, FLOAT))


def unescape(s):
    """Undo the escapes the regexes admitted (\\\\, \\n, and \\" in label values)."""
    return re.sub(r'\\(.)', lambda m: {"\\": "\\", "n": "\n", '"': '"'}[m.group(1)], s)


def to_float(v):
    return float(v)  # Python reads +Inf, -Inf and NaN as the format writes them


class Family:
    def __init__(self, name):
        self.name = name
        self.help = None
        self.type = None
        self.samples = []   # (sample name, {label: value}, float)

    def owns(self, sample_name):
        if self.type == "histogram":
            return sample_name in (self.name + "_bucket", self.name + "_sum",
                                   self.name + "_count")
        return sample_name == self.name


class Exposition:
    def __init__(self):
        self.families = {}

    def family(self, name):
        return self.families[name]

    def value(self, name, **labels):
        """The value of the one sample with exactly these labels."""
        for fam in self.families.values():
            for sname, slabels, v in fam.samples:
                if sname == name and slabels == labels:
                    return v
        raise KeyError("no sample %s%r" % (name, labels))

    def has(self, name, **labels):
        try:
            self.value(name, **labels)
            return True
        except KeyError:
            return False

    def samples(self, name):
        return [(l, v) for fam in self.families.values() for s, l, v in fam.samples if s == name]


def _check_histogram(fam):
    groups = {}
    for sname, labels, v in fam.samples:
        key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        g = groups.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sname.endswith("_bucket"):
            if "le" not in labels:
                raise ValueError("%s: bucket without le" % fam.name)
            g["buckets"].append((to_float(labels["le"]), v))
        elif sname.endswith("_sum"):
            g["sum"] = v
        else:
            g["count"] = v
    for key, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            raise ValueError("%s%r: last bucket is not +Inf" % (fam.name, key))
        for (le1, c1), (le2, c2) in zip(b, b[1:]):
            if not le1 < le2:
                raise ValueError("%s%r: le not ascending" % (fam.name, key))
            if c2 < c1:
                raise ValueError("%s%r: buckets not cumulative" % (fam.name, key))
        if g["count"] is None or g["sum"] is None:
            raise ValueError("%s%r: _count or _sum missing" % (fam.name, key))
        if b[-1][1] != g["count"]:
            raise ValueError("%s%r: +Inf bucket %r != _count %r"
                             % (fam.name, key, b[-1][1], g["count"]))


def parse(body):
    """body: bytes of the whole answer. Returns an Exposition."""
    text = body.decode("utf-8")  # strict: invalid UTF-8 raises
    if not text.endswith("\n"):
        raise ValueError("the exposition does not end with a newline")
    exp = Exposition()
    current = None
    seen_series = set()
    closed = set()   # families whose samples are over
    for no, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d: %r" % (no, line)
        m = HELP_RE.match(line)
        if m:
            name = m.group(1)
            if name in closed or (name in exp.families and exp.families[name].samples):
                raise ValueError("%s: HELP after the family's samples" % where)
            fam = exp.families.setdefault(name, Family(name))
            if fam.help is not None:
                raise ValueError("%s: second HELP" % where)
            fam.help = unescape(m.group(2))
            if current is not None and current is not fam:
                closed.add(current.name)
            current = fam
            continue
        m = TYPE_RE.match(line)
        if m:
            name = m.group(1)
            if name in closed or (name in exp.families and exp.families[name].samples):
                raise ValueError("%s: TYPE after the family's samples" % where)
            fam = exp.families.setdefault(name, Family(name))
            if fam.type is not None:
                raise ValueError("%s: second TYPE" % where)
            fam.type = m.group(2)
            if current is not None and current is not fam:
                closed.add(current.name)
            current = fam
            continue
        if line.startswith("#") or line == "":
            raise ValueError("%s: neither HELP, TYPE nor a sample" % where)
        m = SAMPLE_RE.match(line)
        if not m:
            raise ValueError("%s: not a sample line" % where)
        sname = m.group("name")
        if current is None or current.type is None or current.help is None \
                or not current.owns(sname):
            raise ValueError("%s: sample outside its family (HELP and TYPE first)" % where)
        labels = {}
        for lm in LABEL_RE.finditer(m.group("labels") or ""):
            if lm.group(1) in labels:
                raise ValueError("%s: label %s twice" % (where, lm.group(1)))
            labels[lm.group(1)] = unescape(lm.group(2)[1:-1])
        key = (sname, tuple(sorted(labels.items())))
        if key in seen_series:
            raise ValueError("%s: series repeated" % where)
        seen_series.add(key)
        v = to_float(m.group("value"))
        if current.type == "counter":
            if not sname.endswith("_total"):
                raise ValueError("%s: counter name without _total" % where)
            if not v >= 0:
                raise ValueError("%s: negative counter" % where)
        current.samples.append((sname, labels, v))
    for fam in exp.families.values():
        if fam.type is None or fam.help is None:
            raise ValueError("family %s lacks HELP or TYPE" % fam.name)
        if fam.type == "histogram":
            _check_histogram(fam)
    return exp
