"""Split raw bylines into person names, and move agencies and desks to organisations.

Bylines arrive as "By A and B", "A, B & C", "Di Mario Rossi", "Par Jean Dupont, envoyé spécial",
"Von Max Muster, dpa", "Jane Doe (@jdoe) | jane@example.com | Staff Writer". The rules:

* prefixes ("By", "Par", "Von", "Di", "Por", "Oleh", "Door"...) and "Written by"/"Author:" go;
* emails, URLs, Twitter handles, dates and times, and trailing roles ("Staff Writer",
  "Correspondent", "Editor"...) go;
* names split on commas, semicolons, "&", "|", "/" and the word "and" in the page languages;
* a piece that is an agency or a desk ("Reuters", "AFP", "dpa", "Redazione", "Newsdesk", anything
  ending in Staff/Desk/Redaktion/Newsroom) goes to organisations;
* what is left must look like a name: 1 to 5 words, no digits, at least one capitalised word
  (scripts without case are accepted as they are), at most 60 characters.
"""

from __future__ import annotations

import logging
import re
import unicodedata

logger = logging.getLogger(__name__)

AGENCIES = {
    "reuters": "Reuters",
    "thomson reuters": "Reuters",
    "afp": "AFP",
    "agence france-presse": "AFP",
    "agence france presse": "AFP",
    "ap": "AP",
    "associated press": "AP",
    "the associated press": "AP",
    "ansa": "ANSA",
    "dpa": "dpa",
    "dpa-afx": "dpa-AFX",
    "bloomberg": "Bloomberg",
    "bloomberg news": "Bloomberg",
    "efe": "EFE",
    "europa press": "Europa Press",
    "kna": "KNA",
    "epd": "epd",
    "apa": "APA",
    "sda": "SDA",
    "xinhua": "Xinhua",
    "kyodo": "Kyodo",
    "kyodo news": "Kyodo",
    "yonhap": "Yonhap",
    "pti": "PTI",
    "ians": "IANS",
    "antara": "Antara",
    "upi": "UPI",
    "tass": "TASS",
    "interfax": "Interfax",
    "aap": "AAP",
    "pa": "PA",
    "press association": "PA",
    "pa media": "PA",
    "the canadian press": "The Canadian Press",
    "agencies": "Agencies",
    "agencias": "Agencias",
    "agenturen": "Agenturen",
    "agences": "Agences",
    "staff": "Staff",
    "redazione": "Redazione",
    "la redazione": "Redazione",
    "redaktion": "Redaktion",
    "rédaction": "Rédaction",
    "la rédaction": "Rédaction",
    "redacción": "Redacción",
    "redaccion": "Redacción",
    "redação": "Redação",
    "redactie": "Redactie",
    "redaksi": "Redaksi",
    "newsdesk": "Newsdesk",
    "news desk": "Newsdesk",
    "web desk": "Web Desk",
    "editorial board": "Editorial Board",
    "editorial staff": "Editorial Staff",
    "the editors": "The Editors",
    "editors": "The Editors",
    "admin": "Admin",
    "red": "red",  # "red" / "red.": the desk ("Redaktion") in German and Austrian bylines
}
_ORG_SUFFIX = re.compile(
    r"(?:\bstaff|\bdesk|redaktion|\bnewsroom|\bredazione|\bnews service|\bwire|"
    r"\bwire services|\bnews agency|\bonline)$",
    re.IGNORECASE,
)
# a company or association by its legal form: "… GmbH", "… AG", "… e.V.", "… Inc.", "… S.A."
_LEGAL_FORM = re.compile(
    r"\s(?:GmbH|AG|KG|SE|e\.\s?V\.?|Inc\.?|Ltd\.?|LLC|PLC|plc|S\.A\.|SpA|S\.p\.A\.|"
    r"S\.L\.|B\.V\.|N\.V\.|Oy|AB|ASA|Corp\.?|Co\.)$"
)
# a bare domain ("mbl.is", "wien.ORF.at", "www.koffergepackt.com"): a site, credited by name
_DOMAIN = re.compile(r"(?:www\.)?(?:[\w-]+\.)+[a-zA-Z]{2,12}", re.IGNORECASE)
_DESK_WORDS = frozenset(
    {
        "staff",
        "and",
        "und",
        "et",
        "y",
        "e",
        "news",
        "service",
        "services",
        "reports",
        "wire",
        "wires",
        "agencies",
        "agenturen",
        "agences",
        "agencias",
        "desk",
        "redaktion",
        "rédaction",
        "redazione",
        "redacción",
        "newsroom",
        "reporters",
        "editors",
        "mit",
        "with",
        "from",
    }
)
_PREFIX = re.compile(
    r"^(?:(?:written|posted|reported|published|text|words|story|photos?|fotos?|edited)\s+by|"
    r"by|par|von|di|de|da|por|oleh|door|av|af|przez|от|автор|author|authors|autor|autore|"
    r"auteur|text|texte|testo|texto|reporter|redakteur|verfasser|written)\s*[:\-–—]?\s+|"
    r"^(?:(?:view\s+all\s+posts|(?:zeige\s+)?alle\s+beiträge|voir\s+tous\s+les\s+articles|"
    r"ver\s+todas\s+las\s+entradas|tutti\s+gli\s+articoli|alle\s+berichten|"
    r"zum\s+profil|ein\s+(?:beitrag|artikel|text)|gastbeitrag|beitrag|kommentar|analyse|interview|"
    r"a\s+cura|escrito|publicado|écrit|scritto|geschrieben)\s*(?:von|by|par|di|por|de)?"
    r"\s*[:\-–—]?\s*)+|"
    r"^(?:作者|记者|記者|编辑|文|筆者|著者|글|기자)\s*[:：/／|]?\s*",
    re.IGNORECASE,
)
_ROLE = re.compile(
    r"\b(?:senior|chief|staff|contributing|special|deputy|associate|executive|managing|news|"
    r"business|political|automotive|auto|tech|technology|foreign|editor-at-large|"
    r"correspondente?|envoyée?|spécial[e]?|journalist(?:in)?|reporter(?:in)?|redakteur(?:in)?|"
    r"writer|editor|correspondent|columnist|contributor|analyst|"
    r"producer|photographer|freelance(?:r)?|inviato|giornalista|"
    r"periodista|corresponsal|redactora?|wartawan|kontributor|stringer|"
    r"in|at|for|aus|en|à|a)\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"\(?@\w{1,30}\)?")
_DATEISH = re.compile(
    r"(?:\b(?:updated|published|posted|aktualisiert|veröffentlicht|publiziert|gepostet|"
    r"erstellt|mis à jour|publié le|pubblicato|aggiornato|actualizado|publicado|atualizado|"
    r"diperbarui|bijgewerkt|gepubliceerd)\b.*$)|(?:\d.*$)",
    re.IGNORECASE,
)
# a word left dangling once the date after it is gone: "Jane Doe am", "Jean Dupont le", "Fr"
_DATE_LEAD = re.compile(
    r"(?:\s+|^)(?:am|um|le|on|el|il|em|op|den|vom|du|del|at|stand|mo|di|mi|do|fr|sa|so|"
    r"mon|tue|wed|thu|fri|sat|sun|lun|mar|mer|jeu|ven|sam|dim|lunes|martes)\.?,?$",
    re.IGNORECASE,
)
# "Jane Doe says", "Max sagt": the author of a comment under the article, not of the article
_SPEECH = re.compile(
    r"(?:says|said|wrote|writes|sagt|schreibt|meint|dit|écrit|dice|scrive|disse|escribe|"
    r"schreef|zegt)\s*:?$",
    re.IGNORECASE,
)
# a photo credit printed in the byline box is not the article's author
_PHOTO_CREDIT = re.compile(
    r"^\W*(?:fotos?|photos?|bild|bilder|image|credit|crédit|©)\b", re.IGNORECASE
)
_UNCLOSED = re.compile(r"[(\[][^)\]]*$")
_ROLE_COMPOUND = re.compile(
    r"-(?:experte|expertin|autor|autorin|redakteur|redakteurin|korrespondent|korrespondentin|"
    r"reporter|reporterin|kolumnist|kolumnistin)$",
    re.IGNORECASE,
)
_SPLIT = re.compile(
    r"\s*(?:[,;|/&·•]|\s(?:and|und|et|e|y|dan|en|og|och|i|и|und von|ja)\s)\s*",
    re.IGNORECASE,
)
_NON_NAME = re.compile(
    r"^(?:share|follow|comments?|home|news|more|view|all|posts?|profile|about|"
    r"the|a|an|and|email|twitter|facebook|linkedin|subscribe|contact|unknown|anonymous|"
    r"none|null|guest|user|name|author|no author|posted|posted on|by|von|par|autor|autore|"
    r"auteur|admin|wordpressadmin|webmaster|redakteur|instagram|whatsapp|pinterest|mail|print)$",
    re.IGNORECASE,
)
# "jane said, on August 3, 2019 at 3:12 pm": a comment's header, not the article's byline
_COMMENT = re.compile(
    r"\s(?:says|said|wrote|writes|sagt|schreibt|schrieb|meint|dit|écrit|dice|scrive|disse|"
    r"escribe|schreef|zegt)\s*[:,]\s*\S",
    re.IGNORECASE,
)
# a user name credited as author (a blog's or forum's account): one token, letters first
_HANDLE_NAME = re.compile(r"[^\W\d_][\w.\-]{1,39}")
# "… for The Sunday Example", "… für die Wochenzeitung", "… pour Le Journal": the outlet
_FOR_OUTLET = re.compile(
    r"\s(?i:for|für|pour|per|para)\s+((?:(?i:the|die|der|das|le|la|les|il|lo|el|los|o|a)\s+)?"
    r"[A-ZÄÖÜÀ-Þ][\w'’.&-]*(?:\s+[A-ZÄÖÜÀ-Þ][\w'’.&-]*){0,5})\s*$"
)
# an editor's initials ("Kürzel") paired with an agency: "det/dpa", "fh / AFP"
_INITIALS = re.compile(r"[a-zäöüß]{2,4}")
# an agency or desk abbreviation after a name: "SP-X", "SID", "APA-OTS"
_ABBREVIATION = re.compile(r"[A-ZÄÖÜ]{2,5}(?:-[A-ZÄÖÜ]{1,4})?")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def _is_cased(word: str) -> bool:
    return any(unicodedata.category(ch) in ("Lu", "Ll") for ch in word)


def organisation(name: str) -> str | None:
    """``name`` as the page prints it if it is an agency, a desk or an organisation, else None.

    Kept as printed ("Associated Press", "AP", "dpa", "Deutsche Presse-Agentur"): the archive
    records what the page credits, and a reader searching a byline finds its own spelling.
    """
    printed = " ".join(name.split()).strip()
    if not _LEGAL_FORM.search(printed):
        printed = printed.strip(" .")
    key = printed.casefold().replace("’", "'").strip(" .")
    if key in AGENCIES:
        return printed
    head = re.sub(r"\s+(?:staff|desk|newsroom)$", "", key)
    if head in AGENCIES:
        return printed[: len(head)]  # "Reuters Staff" is Reuters
    # "MND Staff", "Washington Post Staff"; four words are a person and a desk ("Ann Lee X Staff")
    if _ORG_SUFFIX.search(key) and len(key.split()) <= 3:
        return printed
    if _LEGAL_FORM.search(printed) or _DOMAIN.fullmatch(printed):
        return printed  # "Example Energie AG", "Bund der Leser e.V.", "mbl.is", "www.blog.example"
    words = key.split()
    if len(words) >= 2 and all(w.strip(".,") in _DESK_WORDS for w in words):
        return printed  # "Staff and news service reports", "Redaktion und Agenturen"
    return None


def _undate(text: str) -> str:
    """``text`` without a trailing date and the word that introduced it ("am", "le", "Fr")."""
    undated = _DATEISH.sub("", text)
    if undated == text:
        return text
    return _DATE_LEAD.sub("", undated.rstrip(" -–—:·|,"))


def _clean_piece(piece: str) -> str:
    piece = _UNCLOSED.sub(" ", _PARENS.sub(" ", piece))
    piece = _undate(_PREFIX.sub("", piece.strip(" -–—:·|")))
    piece = " ".join(piece.split()).strip(" -–—:·|,'\"*")
    # a final dot ends an initial or an abbreviation ("Jr.", "Juan Muñoz C."): keep it
    last = piece.rsplit(" ", 1)[-1]
    if (
        piece.endswith(".")
        and not (" " in piece and len(last) <= 3)
        and not _LEGAL_FORM.search(piece)
    ):
        piece = piece.rstrip(".").rstrip()
    return piece


def _tidy_words(words: list[str]) -> list[str]:
    """Drop what surrounds a name in a byline box: a leading "~", a kicker before "von"/"by"
    ("Capital Von Jane Doe"), a trailing "<Site> Staff", a trailing lower-case user name
    ("Matthias herrpfleger")."""
    words = [w for w in words if w.strip("~•·*")]
    for i, word in enumerate(words[:2]):
        if i and word.casefold() in ("von", "by", "par", "di", "por") and len(words) - i > 2:
            words = words[i + 1 :]
            break
    if len(words) > 3 and words[-1].casefold() == "staff":
        words = words[:-2]
    cased = [w for w in words if _is_cased(w)]
    if len(cased) == len(words) >= 2 and words[0][0].isupper():
        while len(words) > 1 and words[-1].islower() and words[-1] not in _PARTICLES:
            words = words[:-1]
    return words


def _strip_leading_roles(words: list[str]) -> list[str]:
    """Drop a role before a name ("FOCUS-Online-Experte Jane Doe", "Senior Editor Jane Doe")."""
    while len(words) > 2 and (_ROLE_COMPOUND.search(words[0]) or _ROLE.fullmatch(words[0])):
        words = words[1:]
    if len(words) == 3 and _ROLE_COMPOUND.search(words[0]):
        words = words[1:]
    return words


def _strip_roles(words: list[str]) -> list[str]:
    """Drop a trailing role phrase ("Jane Doe Senior Staff Writer") from a name."""
    while len(words) > 1 and _ROLE.fullmatch(words[-1]):
        words = words[:-1]
    return words


_PARTICLES = frozenset(
    {
        "de",
        "da",
        "di",
        "van",
        "von",
        "der",
        "den",
        "del",
        "la",
        "le",
        "du",
        "al",
        "do",
        "dos",
        "das",
        "della",
        "degli",
        "dei",
        "e",
        "y",
        "bin",
        "ibn",
        "zu",
        "vom",
        "ten",
        "ter",
        "el",
        "les",
        "des",
        "d'",
        "st.",
    }
)


def _looks_like_name(name: str) -> bool:
    words = name.split()
    if words and _is_cased(words[0]) and words[0][0].islower() and words[0] not in _PARTICLES:
        return False  # "envoyée spéciale à Paris", "staff reporter"
    if not 1 <= len(words) <= 5 or len(name) > 60 or _NON_NAME.match(name):
        return False
    if len(name.strip(".")) < 2:
        return False  # "V" of a split "e. V.", an initial alone
    if any(ch.isdigit() for ch in name) or "=" in name or "{" in name:
        return False
    if any(not any(ch.isalnum() for ch in w) for w in words):
        return False  # a dash or a bar between words: "Forstwirtschaft - LWF"
    cased = [w for w in words if _is_cased(w)]
    if not cased:
        return True  # CJK, Thai...: no capitals to check
    if any(w[0].islower() and w.casefold() not in _PARTICLES for w in cased[1:]):
        return False  # "Landesanstalt für Wald": a name's lower-case words are particles only
    return any(w[0].isupper() for w in cased)


def split_authors(
    raw: list[str] | str | None, *, handles: bool = False
) -> tuple[list[str], list[str]]:
    """(people, organisations) from raw byline strings, deduplicated in order.

    ``handles``: the strings come from a field that can only hold an author (JSON-LD, author
    meta, ``rel=author``, a line opening with "By"), so a user name ("jdoe", "Marianne1") is
    credited as printed; a byline box read by its class needs a name's shape.
    """
    if not raw:
        return [], []
    values = [raw] if isinstance(raw, str) else list(raw)
    people: list[str] = []
    orgs: list[str] = []
    for value in values:
        if not value:
            continue
        value = unicodedata.normalize("NFC", " ".join(str(value).split()))
        if _PHOTO_CREDIT.match(value) or _COMMENT.search(value):
            continue
        bare = _PREFIX.sub("", value.strip()).strip(" -–—:·|,")
        if _DOMAIN.fullmatch(bare):
            _add(orgs, bare)  # "Autor: www.example-blog.com", "mbl.is": the site credits itself
            continue
        if (
            handles
            and _HANDLE_NAME.fullmatch(bare)
            and not _NON_NAME.match(bare)
            and not _ROLE.fullmatch(bare)
            and organisation(bare) is None
        ):
            if all(_key(bare) != _key(p) for p in people):
                _add(people, bare)  # one token: a user name ("jdoe", "Marianne1"), as printed
            continue
        value = _URL.sub(" ", _EMAIL.sub(" ", value))
        value = _HANDLE.sub(" ", value)
        value = _PREFIX.sub("", value.strip())
        outlet = _FOR_OUTLET.search(value)
        if outlet:  # "Jane Roe and John Poe for The Sunday Example": the outlet they wrote for
            _add(orgs, outlet.group(1))
            value = value[: outlet.start()]
        value = _undate(value)
        whole_org = organisation(_clean_piece(value))
        if whole_org:
            _add(orgs, whole_org)
            continue
        for piece in _SPLIT.split(value):
            name = _clean_piece(piece)
            if not name:
                continue
            if all(_ROLE.fullmatch(w) for w in name.split()):
                continue  # "Staff Writer", "Journalist": a role, nobody's name
            org = organisation(name)
            if org:
                _add(orgs, org)
                continue
            if _SPEECH.search(name) or all(_NON_NAME.match(w) for w in name.split()):
                continue  # a commenter; share buttons ("Twitter Facebook")
            if "/" in value and _INITIALS.fullmatch(name):
                _add(people, name)  # "det/dpa": the editor's initials beside the agency
                continue
            if (people or orgs) and _ABBREVIATION.fullmatch(name):
                _add(orgs, name)  # "Jane Doe/SP-X", "Jane Doe, KNA": an agency's short name
                continue
            name = " ".join(_strip_leading_roles(_strip_roles(_tidy_words(name.split()))))
            org = organisation(name)
            if org:
                _add(orgs, org)
            elif _looks_like_name(name):
                _add(people, _fix_case(name))
    return people, orgs


def _fix_case(name: str) -> str:
    """ "JANE DOE" -> "Jane Doe"; mixed case is left alone ("Jean-Luc McDonald")."""
    if name.isupper() and len(name) > 3 and " " in name:
        return name.title()
    return name


def _add(target: list[str], value: str) -> None:
    """Append unless already there, spelled alike or not ("Jane Doe" and the slug "jane-doe")."""
    key = _key(value)
    if all(_key(v) != key for v in target):
        target.append(value)


def _key(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())
