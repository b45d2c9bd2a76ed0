"""The fixed vocabularies: data categories and attack kinds, with their words in EN and JA.

Every pattern runs on prepared, lower-cased text. A word counts only when its clause does
not deny it ("no credit card data was accessed", 「クレジットカード情報は含まれていません」).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from .text import Sentences, words

# Data categories, in the order cards show them.
DATA_CATEGORIES: Final = (
    "names", "contact", "government_id", "financial", "health", "credentials", "biometric",
    "dob", "employee_records",
)  # fmt: skip

ATTACKS: Final = (
    "ransomware", "unauthorized_access", "credential_stuffing", "ddos", "phishing",
    "misconfiguration", "third_party", "insider", "unknown",
)  # fmt: skip
# When a text names several kinds, the most specific wins.
ATTACK_PRECEDENCE: Final = (
    "ransomware", "credential_stuffing", "ddos", "insider", "phishing", "misconfiguration",
    "third_party", "unauthorized_access",
)  # fmt: skip

_DATA_WORDS: dict[str, str] = {
    "names": (
        r"(?<!user )(?<!domain )(?<!company )(?<!file )(?<!brand )(?<!product )(?<!host )"
        r"(?<!code )(?<!business )(?<!screen )(?<!display )\bnames\b"
        r"|\bfull names?\b|\bname(?=,\s*(?:address|date of birth|e-?mail|phone|social|ssn|dob))"
        r"|\bname(?= and (?:address|date of birth|e-?mail|phone|contact))"
        r"|氏名|お名前|名前|姓名"
    ),
    "contact": (
        r"\be-?mail addresses?\b|\b(?:phone|telephone|mobile|cell ?phone|contact) numbers?\b"
        r"|\b(?:physical|postal|mailing|home|street|residential|billing|shipping) addresses?\b"
        r"|\bcontact (?:information|details|info|data)\b|\b(?:zip|postal) codes?\b|\bpostcodes?\b"
        r"|(?<=names, )addresses\b|(?<=names and )addresses\b|(?<=name, )address\b"
        r"|(?<=name and )address\b|(?<=names, home )addresses\b"
        r"|住所|電話番号|メールアドレス|メールアカウント|連絡先|携帯番号|郵便番号"
    ),
    "government_id": (
        r"\bsocial security (?:numbers?|nos?\b|records|data|details|information|cards?)"
        r"|\bssns?\b|\bsocial insurance numbers?"
        r"|\bdriver'?s'? licen[cs]es?\b|\bdriving licen[cs]es?\b|\bpassports?\b"
        r"|\bgovernment[- ](?:issued )?id(?:entification)?s?\b|\bgovernment id\b"
        r"|\bnational (?:id|identity|insurance)(?: numbers?| cards?)?\b"
        r"|\bid (?:cards?|documents?|images|numbers?|scans)\b|\bidentity (?:documents?|cards?)\b"
        r"|\btax(?:payer)? (?:identification|id) numbers?\b|\bitins?\b|\bmy ?number\b"
        r"|\bnon-driver identification\b|\bstate (?:id|identification)\b"
        r"|マイナンバー|個人番号|運転免許|免許証|パスポート|旅券|在留カード"
    ),
    "financial": (
        r"\b(?:credit|debit|payment|bank|charge)(?:/debit)?[- ]cards?\b"
        r"|\bbank (?:accounts?|details|information|data|statements|routing)\b"
        r"|\b(?:bank )?account and routing numbers?\b|\brouting numbers?\b|\bibans?\b"
        r"|\bfinancial(?: and [a-z]+)? (?:information|data|details|records|accounts?|info)\b"
        r"|\bbanking (?:information|details|data)\b"
        r"|\btransaction (?:data|information|details|history|histories|records)\b"
        r"|\bpayment (?:information|data|details)\b|\bbilling information\b|\bcvv\b"
        r"|\bpersonal finances\b"
        r"|クレジットカード|カード番号|カード情報|口座|決済情報|セキュリティコード"
    ),
    "health": (
        r"(?<!electronic )\bhealth (?:data|information|info|records?|details|insurance|conditions?"
        r"|history)\b"
        r"|\bhealth-related (?:data|information)\b"
        r"|\bmedical (?:records?|information|data|history|histories|details|conditions?"
        r"|diagnos\w*|files|images|treatment)\b|\bphi\b|\bprotected health information\b"
        r"|\bdiagnos[ie]s\b|\bprescription (?:information|data|details|records|history)\b"
        r"|\b(?:treatment|care) (?:information|plans|details|records)\b"
        r"|\b(?:lab|laboratory|test) results\b|\bclinical (?:information|data|records|notes)\b"
        r"|\bpatients?'? (?:data|information|records|files|details)\b|\bmental health\b"
        r"|診療(?:情報|記録|履歴|内容)|病歴|カルテ|患者(?:の)?(?:個人)?情報|健康(?:情報|診断)"
        r"|医療情報|処方(?:情報|内容|箋)|検査結果|病名|既往歴"
    ),
    "credentials": (
        r"\bpasswords?\b|\bpasscodes?\b|\bpassphrases?\b|\bcredentials?\b"
        r"|\blog-?in (?:details|information|data|credentials)\b|\busernames?\b"
        r"|\b(?:auth(?:entication)?|api|access|session|oauth) (?:secrets|keys|tokens)\b"
        r"|\bsecurity (?:questions|answers)\b|\bpassword hashes\b"
        r"|パスワード|ログインid|ログイン情報|認証情報|暗証番号"
    ),
    "biometric": (
        r"\bbiometric\w*|\bfingerprints?\b|\bface (?:scans?|images|geometry|data)\b"
        r"|\bfacial (?:images|scans|data|recognition data|geometry)\b|\bvoice ?prints?\b"
        r"|\biris scans?\b|\bretina scans?\b|生体情報|指紋|顔認証|静脈"
    ),
    "dob": (
        r"\bdates? of birth\b|\bbirth ?dates?\b|\bbirthdays?\b|\bdobs?\b|\bdate-of-birth\b"
        r"|生年月日|誕生日"
    ),
    "employee_records": (
        r"\bemployees?'? (?:personal )?(?:data|information|info|records|details|files|pii)\b"
        r"|\b(?:data|information|details|records|pii) (?:of|on|about|belonging to|for) "
        r"(?:[\w,.'-]+ ){0,3}?(?:employees|staff|workers|personnel)\b"
        r"|\b(?:hr|human resources|personnel|payroll) (?:data|information|records|files|details)\b"
        r"|\b(?:information|data|details|records) on (?:payroll|salaries|employment)\b"
        r"|(?:従業員|社員|職員|退職者)(?:や[^。]{1,12}?)?(?:など|等)?の(?:個人)?情報"
        r"|従業員情報|社員情報|人事情報|給与情報"
    ),
}

# Credentials used to get in are how the attack worked, not what was taken.
_CREDENTIAL_VECTOR_BEFORE = re.compile(
    r"(?:\busing|\bused|\buse|\bwith|\bvia|\bleverag\w*|\bobtained|\breus\w*|\bfound in|\bdefault"
    r"|\bweak|\bstrong|\bunique|\breset|\bchange|\bchanging|\brotate|\benable|\bbuy|\bbought"
    r"|\bprevent\w*|\bprotect\w*|\bavoid\w*|\bstop\w*)"
    r"(?:\s+[\w-]+){0,3}\s*$"
)
_CREDENTIAL_VECTOR_AFTER = re.compile(
    r"[\s-]*(?:stuffing|spraying|theft|stolen by|to (?:access|breach|log|get|gain|sign|break)"
    r"|that (?:allowed|let|lacked|gave))"
)
_PHISHING_WARNING_BEFORE = re.compile(
    r"(?:wary of|beware|cautious|vigilant|watch (?:out )?for|alert for|look out for|risk of"
    r"|warn\w*(?: \w+){0,3} (?:of|about|against)|scams? and|targeted by|fake|known for"
    r"|notorious for"
    r"|specializ\w* in)(?:\s+[\w-]+){0,3}\s*$"
)

_ATTACK_WORDS: dict[str, str] = {
    "ransomware": (
        r"ransomware|ransom-ware|ランサム|\bdecrypt(?:ion|or) keys?\b"
        r"|\bransom (?:[\w-]+ ){0,3}?to (?:end|restore|unlock|decrypt|recover)\b"
        r"|\bencrypt(?:ed|ing|s)? (?:its |our |the |their |some |company |corporate )?"
        r"(?:systems|servers|files|networks?|hypervisors|machines|devices)\b"
        r"|(?:サーバー?|ファイル|データ|システム)(?:が|を)暗号化"
    ),
    "credential_stuffing": (
        r"credential[- ]stuffing|password[- ]spraying|credential[- ]spraying"
        r"|reus(?:ed|ing) (?:their |of )?(?:passwords|credentials)|password reuse"
        r"|recycled (?:passwords|credentials)|リスト型|パスワードリスト"
    ),
    "ddos": (
        r"(?<![a-z])ddos(?![a-z])|\bdos attacks?\b|distributed denial[- ]of[- ]service"
        r"|denial[- ]of[- ]service attacks?|サービス妨害"
    ),
    "insider": (
        r"\binsiders?\b|\brogue (?:employee|contractor|agent|staff|worker|insider)s?\b"
        r"|\bbribed\b|\bbribing\b|\bbribes?\b"
        r"|\b(?:former|ex-|disgruntled) (?:employee|contractor|staff|worker)s? (?:who |that )?"
        r"(?:stole|took|leaked|downloaded|accessed|copied)"
        r"|内部不正|(?:社員|従業員|職員)[^。]{0,15}(?:持ち出|流出させ)|不正(?:に)?持ち出"
    ),
    "phishing": (
        r"phish|social[- ]engineer|vishing|smishing|impersonat|\bsim[- ]swap"
        r"|なりすまし|フィッシング|ソーシャルエンジニアリング"
    ),
    "misconfiguration": (
        r"misconfigur|mis-configur|\bconfiguration (?:error|issue|mistake)s?\b"
        r"|\b(?:unsecured|unprotected|misconfigured|publicly exposed|exposed) (?:database|server"
        r"|bucket|s3 bucket|elasticsearch|cloud storage|instance)s?\b"
        r"|\bleft (?:exposed|unprotected|unsecured|open|publicly accessible)\b|publicly accessible"
        r"|security settings [^.]{0,60}(?:were|was) (?:disabled|turned off)"
        r"|設定(?:の)?(?:不備|ミス|誤り)|閲覧可能な状態|誤って公開|公開設定"
    ),
    "third_party": (
        r"third[- ]party (?!(?:cyber|forensic|security|incident|expert|investigat|special|law"
        r"|advis|consult|firm|experts)\w*)(?:[\w-]+ ){0,2}?(?:provider|vendor|supplier|platform"
        r"|cloud|database|contractor|processor|partner|service|servicer|system|application"
        r"|software|app|company|host|hosting|breach|data breach)s?\b"
        r"|\b(?:vendor|supplier|provider|subcontractor|contractor|partner)(?:'s)?"
        r" (?:breach|systems?"
        r"|was breached|network|servers?|platform)\b"
        r"|\bbreach (?:at|of) (?:a |an |its |one of its )?(?:[\w-]+ ){0,3}?(?:vendor|supplier"
        r"|provider|subcontractor|contractor|partner|processor)\b"
        r"|\battack on (?:a |an |its |their )?(?:[\w-]+ ){0,2}?(?:provider|vendor|supplier)\b"
        r"|supply[- ]chain attack|委託先|業務委託|外部委託|再委託|サプライチェーン"
    ),
    "unauthorized_access": (
        r"unauthori[sz]ed (?:access|part(?:y|ies)|third[- ]party|activity|actors?|users?"
        r"|individuals?|intrusion|entry)"
        r"|\b(?:gained|gain|gaining|obtained) (?:unauthori[sz]ed )?access"
        r"|\baccess(?:ed|ing)\b|\bhack(?:ed|ing|s)?\b|\bbreach(?:ed|ing)\b(?! \d{4}-)"
        r"|\b(?:was able|were able|been able|managed|allowed|allowing|let|letting|used|using)\b"
        r"(?:\s+[\w-]+){0,3}?\s+(?:to\s+)?access\b"
        r"|\b(?:network|system|systems|server|it|dev platform) (?:breach|intrusion|compromise)\b"
        r"|\b(?:broke|break|broken) into\b|\bintrusions?\b|\bintruders?\b|\binfiltrat\w*"
        r"|\bstole\b|\bstolen\b|\bsteal(?:s|ing)?\b|(?<!identity )\btheft\b|\bexfiltrat\w*"
        r"|\bscrap(?:ed|ing)\b|\bcompromised (?:its|the|an?|some|certain|their|our)\b|\bdrained\b"
        r"|\bexploit(?:ed|ing)\b|\btaken\b(?= in\b| during\b| from\b| by\b)|\bunlawfully\b"
        r"|不正アクセス|侵入|窃取|不正ログイン|マルウェア(?:に)?感染|ハッキング|盗ま|盗み|盗難"
    ),
}


# Words (and a few stems) without which a category's pattern cannot match: most texts are
# ruled out by one set intersection instead of a dozen regular expressions.
_T = frozenset
_DATA_TRIGGERS: dict[str, tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]] = {
    "names": (_T({"names", "name"}), (), ("氏名", "名前", "姓名")),
    "contact": (
        _T(
            {
                "email",
                "mail",
                "phone",
                "telephone",
                "mobile",
                "cell",
                "cellphone",
                "contact",
                "addresses",
                "address",
                "zip",
                "postal",
                "postcodes",
                "postcode",
            }
        ),
        (),
        (
            "住所",
            "電話番号",
            "メールアドレス",
            "メールアカウント",
            "連絡先",
            "携帯番号",
            "郵便番号",
        ),
    ),
    "government_id": (
        _T(
            {
                "social",
                "ssn",
                "ssns",
                "driver",
                "drivers",
                "driving",
                "licence",
                "license",
                "passport",
                "passports",
                "government",
                "national",
                "id",
                "ids",
                "identity",
                "tax",
                "taxpayer",
                "itin",
                "itins",
                "my",
                "mynumber",
                "identification",
            }
        ),
        (),
        ("マイナンバー", "個人番号", "運転免許", "免許証", "パスポート", "旅券", "在留カード"),
    ),
    "financial": (
        _T(
            {
                "credit",
                "debit",
                "payment",
                "bank",
                "charge",
                "routing",
                "iban",
                "ibans",
                "financial",
                "banking",
                "transaction",
                "billing",
                "cvv",
                "finances",
            }
        ),
        (),
        ("クレジットカード", "カード番号", "カード情報", "口座", "決済情報", "セキュリティコード"),
    ),
    "health": (
        _T(
            {
                "health",
                "medical",
                "phi",
                "diagnosis",
                "diagnoses",
                "prescription",
                "treatment",
                "care",
                "lab",
                "laboratory",
                "test",
                "clinical",
                "patient",
                "patients",
                "mental",
            }
        ),
        (),
        (
            "診療",
            "病歴",
            "カルテ",
            "患者",
            "健康",
            "医療情報",
            "処方",
            "検査結果",
            "病名",
            "既往歴",
        ),
    ),
    "credentials": (
        _T(
            {
                "password",
                "passwords",
                "passcode",
                "passcodes",
                "passphrase",
                "passphrases",
                "credential",
                "credentials",
                "login",
                "log",
                "username",
                "usernames",
                "auth",
                "authentication",
                "api",
                "secrets",
                "keys",
                "tokens",
                "oauth",
                "questions",
                "answers",
                "hashes",
            }
        ),
        (),
        ("パスワード", "ログインid", "ログイン情報", "認証情報", "暗証番号"),
    ),
    "biometric": (
        _T(
            {
                "fingerprint",
                "fingerprints",
                "face",
                "facial",
                "voice",
                "voiceprint",
                "voiceprints",
                "iris",
                "retina",
            }
        ),
        ("biometric",),
        ("生体情報", "指紋", "顔認証", "静脈"),
    ),
    "dob": (
        _T({"birth", "birthdate", "birthdates", "birthday", "birthdays", "dob", "dobs"}),
        (),
        ("生年月日", "誕生日"),
    ),
    "employee_records": (
        _T(
            {
                "employee",
                "employees",
                "staff",
                "workers",
                "personnel",
                "hr",
                "human",
                "payroll",
                "salaries",
                "employment",
            }
        ),
        (),
        ("従業員", "社員", "職員", "退職者", "人事情報", "給与情報"),
    ),
}
_ATTACK_TRIGGERS: dict[str, tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]] = {
    "ransomware": (
        _T({"ransomware", "ransom", "encrypt", "encrypted", "encrypting", "encrypts",
            "decryption", "decryptor"}),
        (), ("ランサム", "暗号化"),
    ),
    "credential_stuffing": (
        _T({"credential", "credentials", "password", "passwords", "reused", "reusing", "reuse",
            "recycled"}),
        (), ("リスト型", "パスワードリスト"),
    ),
    "ddos": (_T({"ddos", "dos", "denial"}), (), ("サービス妨害",)),
    "insider": (
        _T({"insider", "insiders", "rogue", "bribed", "bribing", "bribe", "bribes", "former",
            "ex", "disgruntled"}),
        (), ("内部不正", "持ち出", "流出させ"),
    ),
    "phishing": (
        _T({"social", "vishing", "smishing", "sim"}), ("phish", "impersonat"),
        ("なりすまし", "フィッシング", "ソーシャルエンジニアリング"),
    ),
    "misconfiguration": (
        _T({"configuration", "database", "databases", "server", "servers", "bucket", "buckets",
            "elasticsearch", "storage", "instance", "instances", "left", "publicly", "settings"}),
        ("misconfigur", "mis-configur"), ("設定", "閲覧可能", "誤って公開"),
    ),
    "third_party": (
        _T({"third", "vendor", "supplier", "provider", "subcontractor", "contractor", "partner",
            "processor", "supply"}),
        (), ("委託", "サプライチェーン"),
    ),
    "unauthorized_access": (
        _T({"unauthorized", "unauthorised", "gained", "gain", "gaining", "obtained", "access",
            "accessed", "accessing", "hack", "hacked", "hacking", "hacks", "breached", "breaching",
            "breach", "intrusion", "intrusions", "compromise", "broke", "break", "broken",
            "intruder", "intruders", "stole", "stolen", "steal", "steals", "stealing", "theft",
            "scraped", "scraping", "compromised", "drained", "exploited", "exploiting", "taken",
            "unlawfully", "able", "managed", "allowed", "allowing", "let", "letting", "used",
            "using"}),
        ("infiltrat", "exfiltrat"),
        ("不正アクセス", "侵入", "窃取", "不正ログイン", "マルウェア", "ハッキング", "盗ま", "盗み",
         "盗難"),
    ),
}  # fmt: skip


def _alternatives(pattern: str) -> list[str]:
    """Split a pattern at its top-level "|" (outside groups and character classes)."""
    parts, depth, in_class, current, i = [], 0, False, [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            current.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


_Compiled = tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str] | None]


def _split_scripts(pattern: str) -> _Compiled:
    """Compile the Latin alternatives behind one leading word boundary, Japanese apart.

    The regular expression engine tries every alternative at every position; with one
    ``\\b`` in front it tries them only where a word starts, several times faster.
    """
    latin: list[str] = []
    japanese: list[str] = []
    for alt in _alternatives(pattern):
        (latin if alt.isascii() else japanese).append(alt.removeprefix(r"\b"))
    body = "|".join(latin)
    # Next to kana a Latin word has no \\b ("jalにddos攻撃"): mixed text uses a lookbehind.
    return (re.compile(rf"\b(?:{body})"), re.compile(rf"(?<![a-z0-9])(?:{body})"),
            re.compile("|".join(japanese)) if japanese else None)  # fmt: skip


DATA_PATTERNS: Final = {name: _split_scripts(pattern) for name, pattern in _DATA_WORDS.items()}
ATTACK_PATTERNS: Final = {name: _split_scripts(pattern) for name, pattern in _ATTACK_WORDS.items()}


def _matches(patterns: _Compiled, low: str) -> Iterator[re.Match[str]]:
    ascii_latin, mixed_latin, japanese = patterns
    if low.isascii():
        yield from ascii_latin.finditer(low)
        return
    yield from mixed_latin.finditer(low)
    if japanese is not None:
        yield from japanese.finditer(low)


# Every word that can start anything in this module: the cheapest "anything here?" test.
TRIGGER_WORDS: Final = frozenset().union(
    *(t[0] for t in (*_DATA_TRIGGERS.values(), *_ATTACK_TRIGGERS.values()))
)
TRIGGER_STEMS: Final = tuple(
    stem for t in (*_DATA_TRIGGERS.values(), *_ATTACK_TRIGGERS.values()) for stem in (*t[1], *t[2])
)


_Triggers = tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]
_Index = tuple[
    dict[str, tuple[str, ...]],
    frozenset[str],
    tuple[tuple[str, tuple[str, ...]], ...],
    tuple[tuple[str, tuple[str, ...]], ...],
]


def _index(table: dict[str, _Triggers]) -> _Index:
    by_word: dict[str, list[str]] = {}
    for name, (trigger_words, _, _) in table.items():
        for word in trigger_words:
            by_word.setdefault(word, []).append(name)
    stems = tuple((name, t[1]) for name, t in table.items() if t[1])
    japanese = tuple((name, t[2]) for name, t in table.items() if t[2])
    return {w: tuple(n) for w, n in by_word.items()}, frozenset(by_word), stems, japanese


_DATA_INDEX: Final = _index(_DATA_TRIGGERS)
_ATTACK_INDEX: Final = _index(_ATTACK_TRIGGERS)


def _candidates(index: _Index, low: str, tokens: frozenset[str]) -> set[str]:
    """The categories whose trigger words, stems or Japanese words occur in ``low``."""
    by_word, keys, stems, japanese = index
    found: set[str] = set()
    for word in tokens & keys:
        found.update(by_word[word])
    for name, names in stems:
        if name not in found and any(stem in low for stem in names):
            found.add(name)
    if not low.isascii():
        for name, names in japanese:
            if name not in found and any(word in low for word in names):
                found.add(name)
    return found


# Denials. English: a cue before the word in its clause, or "was not accessed" after it.
# Japanese: the rest of the clause says it was not included or not leaked.
_CLAUSE_BREAK = re.compile(
    r"\bbut\b|\bhowever\b|\bwhile\b|\balthough\b|\bwhereas\b|\bexcept\b|が、|ものの|一方"
    r"|で、|であり、|ですが、|ており、"  # 「氏名や住所などで、クレジットカード情報は含まれない」
)
_NEGATION_BEFORE = re.compile(
    r"\b(?:no|not|neither|nor|without|never|none of|denies|denied)\b|n't\b"
)
_NEGATION_AFTER = re.compile(
    r"^[^.;]*?\b(?:(?:was|were|is|are|has been|have been|had been) not|wasn't|weren't|isn't|aren't)"
    r"\s+(?:\w+\s+)?(?:accessed|affected|compromised|exposed|involved|impacted|stolen|included"
    r"|taken|acquired|viewed|breached)"
)
_JA_NEGATION_AFTER = re.compile(
    r"含まれ(?:てい|て)?(?:ません|ない|ておりません|ず)|含まれておりません|含んでいない|含んでおりません"
    r"|含まない|含まず|対象外|(?:は|も)(?:流出|漏えい|漏洩)(?:していない|しておりません|していません)"
    r"|(?:流出|漏えい|漏洩)(?:の事実)?は(?:確認されていません|ありません|ございません)"
)


def clause_bounds(
    text: str, start: int, end: int, lo: int = 0, hi: int | None = None
) -> tuple[int, int]:
    """Return the clause around ``text[start:end]`` within the sentence ``text[lo:hi]``."""
    hi = len(text) if hi is None else hi
    left = lo
    for match in _CLAUSE_BREAK.finditer(text, lo, start):
        left = match.end()
    after = _CLAUSE_BREAK.search(text, end, hi)
    return left, after.start() if after else hi


def is_denied(text: str, start: int, end: int, lo: int = 0, hi: int | None = None) -> bool:
    """Say whether the words at ``text[start:end]`` are denied in their clause."""
    left, right = clause_bounds(text, start, end, lo, hi)
    if _NEGATION_BEFORE.search(text, left, start):
        return True
    rest = text[end:right]
    return bool(_NEGATION_AFTER.match(rest) or _JA_NEGATION_AFTER.search(rest))


_HYPOTHETICAL_BEFORE = re.compile(
    r"\b(?:could|would|might|may|can)\s+(?:\w+\s+)?(?:allow|let|enable|lead to|result in)\b"
    r"|\bcould be used to\b"
)


def _one_sentence(low: str) -> Sentences:
    return Sentences(low, low)


def data_in(
    low: str,
    tokens: frozenset[str] | None = None,
    sents: Sentences | None = None,
    *,
    gated: bool = True,
) -> set[str]:
    """Return the data categories lower-cased ``low`` says were exposed (and does not deny).

    ``gated=False`` tries every category's pattern even without its trigger words (tests use
    it to show the triggers lose nothing).
    """
    tokens = words(low) if tokens is None else tokens
    candidates = _candidates(_DATA_INDEX, low, tokens) if gated else set(_DATA_TRIGGERS)
    found: set[str] = set()
    for category in _DATA_TRIGGERS:
        if category not in candidates:
            continue
        for match in _matches(DATA_PATTERNS[category], low):
            start, end = match.span()
            if category == "credentials" and (
                _CREDENTIAL_VECTOR_BEFORE.search(low, max(0, start - 40), start)
                or _CREDENTIAL_VECTOR_AFTER.match(low, end)
            ):
                continue
            if _HYPOTHETICAL_BEFORE.search(low, max(0, start - 60), start):
                continue
            sents = sents or _one_sentence(low)
            if not is_denied(low, start, end, *sents.span(start)):
                found.add(category)
                break
    return found


def attack_in(
    low: str,
    tokens: frozenset[str] | None = None,
    sents: Sentences | None = None,
    *,
    gated: bool = True,
) -> str:
    """Return the most specific attack kind lower-cased ``low`` names (and does not deny).

    Kinds are tried most specific first and the first found wins, so a ransomware story never
    pays for the long "unauthorized access" pattern.
    """
    tokens = words(low) if tokens is None else tokens
    candidates = _candidates(_ATTACK_INDEX, low, tokens) if gated else set(_ATTACK_TRIGGERS)
    for kind in ATTACK_PRECEDENCE:
        if kind not in candidates:
            continue
        for match in _matches(ATTACK_PATTERNS[kind], low):
            start, end = match.span()
            if kind == "phishing" and _PHISHING_WARNING_BEFORE.search(
                low, max(0, start - 50), start
            ):
                continue
            sents = sents or _one_sentence(low)
            if not is_denied(low, start, end, *sents.span(start)):
                return kind
    return "unknown"


def attacks_in(low: str) -> set[str]:
    """Return every attack kind lower-cased ``low`` names (and does not deny)."""
    found: set[str] = set()
    sents = _one_sentence(low)
    for kind in ATTACK_PRECEDENCE:
        for match in _matches(ATTACK_PATTERNS[kind], low):
            start, end = match.span()
            if kind == "phishing" and _PHISHING_WARNING_BEFORE.search(
                low, max(0, start - 50), start
            ):
                continue
            if not is_denied(low, start, end, *sents.span(start)):
                found.add(kind)
                break
    return found


def pick_attack(kinds: set[str]) -> str:
    """Return the most specific of ``kinds``, or "unknown"."""
    for kind in ATTACK_PRECEDENCE:
        if kind in kinds:
            return kind
    return "unknown"
