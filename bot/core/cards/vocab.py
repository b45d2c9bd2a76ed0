"""The fixed vocabularies: data categories and attack kinds, with their words in EN and JA.

Every pattern runs on prepared, lower-cased text. A word counts only when its clause does
not deny it ("no credit card data was accessed", 「クレジットカード情報は含まれていません」).
"""

from __future__ import annotations

import re
from typing import Final

from .anchors import Gate, Hits
from .text import Sentences

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
        r"(?<!code )(?<!business )(?<!screen )(?<!display )(?<![0-9] )\bnames\b"
        r"|\bfull names?\b"
        r"|\bnames?(?=,\s*(?:[a-z]+ )?(?:address|addresses|date of birth|e-?mail|phone|social|ssn"
        r"|dob"
        r"|contact))"
        r"|\bname(?= and (?:address|date of birth|e-?mail|phone|contact))"
        r"|氏名|お名前|名前(?!を)|姓名"
    ),
    "contact": (
        r"\be-?mail addresses?\b|\b(?:phone|telephone|mobile|cell ?phone|contact) numbers?\b"
        r"|\b(?:physical|postal|mailing|home|street|residential|billing|shipping) addresses?\b"
        r"|\bcontact(?: and [a-z]+)? (?:information|details|info|data)\b|\b(?:zip|postal) codes?\b"
        r"|\bpostcodes?\b"
        r"|(?<=names, )addresses\b|(?<=names and )addresses\b|(?<=name, )address\b"
        r"|(?<=name and )address\b|(?<=names, home )addresses\b|(?<=name, )contact\b"
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
        r"|\bnon-driver identification\b|\bstate (?:id|identification)\b|\bnric\b"
        r"|\bmedicare (?:and [\w ]{0,20}?)?(?:card )?(?:numbers?|cards?|details)\b"
        r"|\binsurance numbers\b"
        r"|マイナンバー|個人番号|運転免許|免許証|パスポート|旅券|在留カード|政府id"
    ),
    "financial": (
        r"\b(?:credit|debit|payment|bank|charge)(?:/debit)?[- ]cards?\b(?! (?:customers|applicants"
        r"|issuers?|rival|business|company|unit|program|portfolio))"
        r"|(?<!sim )(?<!concession )(?<!medicare )(?<!loyalty )\bcard numbers?\b"
        r"|\bbank (?:accounts?|details|information|data|statements|routing)\b"
        r"|\b(?:bank )?account and routing numbers?\b|\brouting numbers?\b|\bibans?\b"
        r"|\bfinancial(?: and [a-z]+)? (?:information|data|details|records|accounts?|info)\b"
        r"|\bbanking (?:information|details|data)\b"
        r"|\btransaction (?:data|information|details|history|histories|records)\b"
        r"|\bpayment (?:information|data|details)\b|\bbilling information\b|\bcvv\b"
        r"|\bpersonal finances\b"
        r"|クレジットカード|カード番号|カード情報|口座|決済情報|セキュリティコード"
        r"|財務(?:書類|文書|情報|データ)"
    ),
    "health": (
        r"(?<!electronic )\bhealth (?:data|information|info|records?|reports?|details|conditions?"
        r"|history|insurance (?:data|information|details|records))\b"
        r"|\bgen(?:etic|otype) (?:data|information)\b"
        r"|\bhealth-related (?:data|information)\b"
        r"|\bmedical (?:records?|information|data|history|histories|details|conditions?"
        r"|diagnos\w*|files|images|treatment)\b|\bphi\b|\bprotected health information\b"
        r"|\bdiagnos[ie]s\b|\bprescription (?:information|data|details|records|history)\b"
        r"|\b(?:treatment|care) (?:information|plans|details|records)\b"
        r"|\b(?:lab|laboratory|test) results\b|\bclinical (?:information|data|records|notes)\b"
        r"|\bpatients?'? (?:data|information|records|files|details)\b|\bmental health\b"
        r"|診療(?:情報|記録|履歴|内容)|病歴|カルテ|患者(?:の)?(?:個人)?情報|健康(?:情報|診断)"
        r"|医療情報|処方(?:情報|内容|箋)|(?:血液|健康診断|人間ドック)の?検査結果|病名|既往歴"
    ),
    "credentials": (
        r"\bpasswords?\b(?! manag| reset| change| spray| polic)|\bpasscodes?\b"
        r"|\bverification codes?\b|\bpassphrases?\b|\bcredentials?\b"
        r"|\blog-?in (?:details|information|data|credentials)\b|\busernames?\b"
        r"|\b(?:auth(?:entication)?|api|access|session|oauth) (?:secrets|keys|tokens)\b"
        r"|\bsecurity (?:questions|answers)\b|\bpassword hashes\b|\bpuk(?: codes?)?\b"
        r"|\bpins\b|\baccount pins?\b|\bpin (?:codes?|numbers?)\b|\b(?:private|secret) keys?\b"
        r"|パスワード(?!リセット|の?変更|を変更)|ログインid|ログイン情報|認証情報|暗証番号"
    ),
    "biometric": (
        r"\bbiometric\w*(?! (?:unlock|authentication|login|technolog\w*|sensors?))"
        r"|\bfingerprints?\b|\bface (?:scans?|images|geometry|data)\b"
        r"|\bfacial (?:images|scans|data|recognition data|geometry)\b|\bvoice ?prints?\b"
        r"|\biris scans?\b|\bretina scans?\b|生体情報|指紋(?!認証)|静脈"
    ),
    "dob": (
        r"\bdates? of birth\b|\bbirth ?dates?\b|\bbirthdays?\b|\bdobs?\b|\bdate-of-birth\b"
        r"|生年月日|誕生日"
    ),
    "employee_records": (
        r"\bemployees?'? (?:personal )?(?:data|information|info|records|details|files|pii|names"
        r"|e-?mail addresses|emails|cvs)\b|\bstaff (?:info|information|data|details)\b"
        r"|\b(?:data|information|details|records|pii|names|addresses) (?:of|on|about|belonging to"
        r"|for) (?:[\w,.'-]+ ){0,7}?(?:employees|staff|workers|personnel)\b"
        r"|\bemployees?'? and (?:[\w-]+ ){0,2}?(?:data|information|details)\b"
        r"|\b(?:employees|staff)\b[^.;]{0,40}\btheir (?:personal )?(?:information|data|details)\b"
        r"|\b(?:current and (?:some )?(?:former|previous)|former and current) (?:[\w-]+ ){0,2}?"
        r"(?:employees|staff)\b"
        r"|\b(?:hr|human resources|personnel|payroll) (?:data|information|records|files|details)\b"
        r"|\b(?:information|data|details|records) on (?:payroll|salaries|employment)\b"
        r"|(?:従業員|社員|職員|退職者)(?:や[^。]{1,12}?)?(?:など|等)?の(?:個人)?情報"
        r"|(?:従業員|従業者|社員|職員)(?:等|ら)?(?:に関する|の)(?:個人)?(?:情報|データ)"
        r"|(?:従業員|従業者|社員)(?:等|など|ら)?約?[\d,万千]+(?:人分|人|件)"
        r"|(?:従業員|社員)(?:など|等)?約?[\d,万千]+人(?:分)?の(?:個人)?情報|(?:社員|従業員)記録"
        r"|(?:従業員|従業者|社員)(?:、|や)[^。]{0,60}?(?:など|等)?の(?:個人)?(?:情報|データ)"
        r"|従業員情報|社員情報|人事情報|給与情報"
    ),
}

# Credentials used to get in are how the attack worked, not what was taken.
_CREDENTIAL_VECTOR_BEFORE = re.compile(
    r"(?:\busing|\bused|\buse|\bwith|\bvia|\bleverag\w*|\bobtained|\breus\w*|\bfound in|\bdefault"
    r"|\bweak|\bstrong|\bunique|\breset\w*|\bchange|\bchanging|\brotate|\benable|\bbuy|\bbought"
    r"|\bprevent\w*|\bprotect\w*|\bavoid\w*|\bstop\w*|\brisk)"
    r"(?:\s+[\w.'’-]+){0,3}\s*$|\bemployees?'?\s+$"
)
_CREDENTIAL_VECTOR_AFTER = re.compile(
    r"[\s-]*(?:stuffing|spray(?:ing)?|theft|stolen by|(?:was|were) used to|to (?:access|breach|log"
    r"|get"
    r"|gain|sign|break)"
    r"|that (?:allowed|let|lacked|gave))"
)
_PHISHING_WARNING_BEFORE = re.compile(
    r"(?:wary of|beware|cautious|vigilant|watch (?:out )?for|alert for|look out for|risk of"
    r"|warn\w*(?: \w+){0,3} (?:of|about|against)|scams? and|targeted by|fake|known for"
    r"|notorious for|expos\w* (?:them |users |customers )?to|vulnerable to|open to"
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
        r"|不正に入手した(?:ログイン)?idとパスワード|他人の[^。]{0,10}(?:id|パスワード|pw)(?:と[^。]{0,6})?でログイン"
        r"|id・pwリスト|idとpwのリスト"
    ),
    "ddos": (
        r"(?<![a-z])ddos(?![a-z])|\bdos attacks?\b|distributed denial[- ]of[- ]service"
        r"|denial[- ]of[- ]service attacks?|サービス妨害"
        r"|\boverwhelm\w* (?:its |the )?(?:network|servers?|systems?|website)"
        r"|大量の(?:データ|通信|アクセス)を送りつけ"
    ),
    "insider": (
        r"\binsiders?\b|\brogue (?:employee|contractor|agent|staff|worker|insider)s?\b"
        r"|\bbribed\b|\bbribing\b|\bbribes?\b"
        r"|\b(?:former|ex-|disgruntled) (?:employee|contractor|staff|worker)s? (?:who |that )?"
        r"(?:stole|took|leaked|downloaded|accessed|copied)"
        r"|内部不正|(?:社員|従業員|職員)[^。]{0,60}(?:持ち出|流出させ)|不正(?:に)?持ち出"
    ),
    "phishing": (
        r"phish|social[- ]engineer|vishing|smishing|impersonat|\bsim[- ]swap"
        r"|\bbusiness e-?mail compromise\b"
        r"|なりすまし(?!ログイン)|フィッシング|ソーシャルエンジニアリング|虚偽の指示|偽の(?:指示|メール)"
        r"|ビジネスメール詐欺"
    ),
    "misconfiguration": (
        r"misconfigur|mis-configur|\bconfiguration (?:error|issue|mistake)s?\b"
        r"|\b(?:unsecured|insecure|unprotected|misconfigured|publicly exposed|exposed)"
        r" (?:[\w-]+ ){0,2}?(?:database|server|bucket|elasticsearch|cloud storage|instance)s?\b"
        r"|\b(?:accidentally|inadvertently|mistakenly|unintentionally|erroneously)"
        r" (?:leaked|exposed|disclosed|published|shared|made)\b"
        r"|\bleft (?:exposed|unprotected|unsecured|open|publicly accessible)\b|publicly accessible"
        r"|security settings [^.]{0,60}(?:were|was) (?:disabled|turned off)"
        r"|設定(?:の)?(?:不備|ミス|誤り)|閲覧可能な状態|誤って公開|公開設定|設定[^。]{0,10}解除"
    ),
    "third_party": (
        r"third[- ]party (?!(?:cyber|forensic|security|incident|expert|investigat|special|law"
        r"|advis|consult|firm|experts)\w*)(?:[\w-]+ ){0,2}?(?:provider|vendor|supplier|platform"
        r"|cloud|database|contractor|processor|partner|service|servicer|system|application"
        r"|software|app|company|host|hosting|breach|data breach|call cent(?:er|re)|support"
        r"|customer service|help desk)s?\b"
        r"|third[- ]party (?:that|which|who) (?:handled|ran|runs|managed|manages|operated|provided)"
        r"|\b(?:vendor|supplier|provider|subcontractor|contractor|partner)(?:'s)?"
        r" (?:[\w-]+ )?(?:breach|systems?|was breached|network|servers?|platform|security"
        r" (?:failure|lapse|incident)|user account|account|error)\b"
        r"|\b(?:attack|attacks|breach|hack|cyberattack|cyber-attack|compromise) (?:on|against|of"
        r"|at)"
        r" (?:a |an |its |the |their )?(?:[\w'-]+ ){0,3}?(?:vendor|supplier|provider|contractor"
        r"|subcontractor|partner|processor|debt collector|call cent(?:er|re))s?\b"
        r"|\b(?:via|through) (?:a |an |its |the |their )?(?:[\w-]+ ){0,3}?(?:vendor|supplier"
        r"|provider|contractor|subcontractor|partner)(?:'s)?\b"
        r"|\b(?:supplier|vendor|provider|contractor)s?\b[^.;]{0,60}?\b(?:was |were |is )?(?:hit"
        r"|struck"
        r"|attacked|breached|hacked|compromised)\b"
        r"|\bsaas vendor\b|\bexternal (?:[\w-]+ ){0,2}?(?:platform|service provider|provider)\b"
        r"|\baccellion\b"
        r"|\bbreach (?:at|of) (?:a |an |its |one of its )?(?:[\w-]+ ){0,3}?(?:vendor|supplier"
        r"|provider|subcontractor|contractor|partner|processor)\b"
        r"|\battack on (?:a |an |its |their )?(?:[\w-]+ ){0,2}?(?:provider|vendor|supplier)\b"
        r"|supply[- ]chain|委託先|業務委託|外部委託|再委託|サプライチェーン|下請け"
        r"|(?:取引先|サプライヤー|仕入れ先|部品メーカー)[^。]{0,30}(?:サイバー攻撃|攻撃|不正アクセス|ランサム)"
    ),
    "unauthorized_access": (
        r"unauthori[sz]ed (?:access|part(?:y|ies)|third[- ]part(?:y|ies)|activity|actors?|users?"
        r"|individuals?|intrusion|entry)"
        r"|\b(?:gained|gain|gaining|obtained) (?:unauthori[sz]ed )?access"
        r"|\baccess(?:ed|ing)\b|\bhack(?:ed|ing|s)?\b|\bbreach(?:ed|ing)\b(?! \d{4}-)"
        r"|\b(?:was able|were able|been able|managed|allowed|allowing|let|letting|used|using)\b"
        r"(?:\s+[\w-]+){0,3}?\s+(?:to\s+)?access\b"
        r"|\b(?:network|system|systems|server|it|dev platform) (?:breach|intrusion|compromise)\b"
        r"|\b(?:broke|break|broken) into\b|\bintrusions?\b|\bintruders?\b|\binfiltrat\w*"
        r"|\bstole\b|\bstolen\b|\bsteal(?:s|ing)?\b|(?<!identity )\btheft\b|\bexfiltrat\w*"
        r"|\bscrap(?:ed|ing)\b|\bcompromised (?:its|the|an?|some|certain|their|our)\b|\bdrained\b"
        r"|\bexploit(?:ed|ing)\b|\btaken\b(?= in\b| during\b| from\b| by\b| data\b| some data\b)"
        r"|\bunlawfully\b|\bobtain(?:ed|ing)? (?:the )?(?:personal )?(?:data|information)\b"
        r"|\bhijack\w*|\btaken over\b|\btook over\b|\blooted\b|\bview(?:ed)? (?:the )?source code\b"
        r"|\bcompromised by\b|\bcompromised (?:user |employee |admin )?(?:credentials?|accounts?"
        r"|passwords?)\b|\bdownload(?:ed|ing)? (?:[\w-]+ ){0,3}?(?:data|files|information"
        r"|records)\b"
        r"|\btook (?:about |over |some )?[\d.,]+ ?(?:gb|tb|terabytes|gigabytes)\b"
        r"|\babused? (?:an? )?(?:[\w-]+ )?apis?\b|\b(?:unsecured|unauthenticated) api\b"
        r"|\bapi vulnerability\b"
        r"|不正アクセス|不正なアクセス|不正接続|侵入|窃取|不正ログイン|マルウェア(?:に)?感染"
        r"|ウイルス(?:に)?感染|ウイルスが(?:拡散|侵入)|ハッキング|盗ま|盗み|盗難"
    ),
}


# One automaton over the anchors of every phrasing (data categories and attack kinds): a
# text's single pass tells which few phrasings to try (:mod:`bot.core.cards.anchors`).
GATE: Final = Gate(
    {**{f"data:{k}": v for k, v in _DATA_WORDS.items()},
     **{f"attack:{k}": v for k, v in _ATTACK_WORDS.items()}}
)  # fmt: skip


_DATA_KEYS: Final = tuple((c, f"data:{c}") for c in DATA_CATEGORIES)
_ATTACK_KEYS: Final = tuple((k, f"attack:{k}") for k in ATTACK_PRECEDENCE)


def hits(low: str) -> Hits:
    """The phrasings worth trying on lower-cased ``low`` (one pass of the automaton)."""
    return GATE.hits(low)


# Denials. English: a cue before the word in its clause, or "was not accessed" after it.
# Japanese: the rest of the clause says it was not included or not leaked.
_CLAUSE_BREAK = re.compile(
    r"\bbut\b|\bhowever\b|\bwhile\b|\balthough\b|\bwhereas\b|\bexcept\b|が、|ものの|一方"
    r"|で、|であり、|ですが、|ており、"  # 「氏名や住所などで、クレジットカード情報は含まれない」
)
# A plain negation denies the words just after it ("no credit card data", "did not include
# Social Security numbers"); "no evidence that ..." denies the rest of its clause. Farther
# away, "without" or "denies" are about something else ("left without internet access due to a
# possible hack", "denies getting hacked as a ransomware gang releases data").
_NEGATION_BEFORE = re.compile(
    r"\b(?:no (?:evidence|sign|signs|indication|indications|trace)|neither|nor|none of)\b"
)
_NEGATION_NEAR = re.compile(r"\b(?:no|not|never)\b|n't\b")
_NEGATION_NEARER = re.compile(r"\b(?:without|denies|denied)\b")
_NEAR, _NEARER = 60, 20
_NEGATION_AFTER = re.compile(
    r"^[^.;]*?\b(?:(?:was|were|is|are|has been|have been|had been) not|wasn't|weren't|isn't|aren't)"
    r"\s+(?:\w+\s+)?(?:accessed|affected|compromised|exposed|involved|impacted|stolen|included"
    r"|taken|acquired|viewed|breached|obtained|leaked|copied|downloaded)"
    r"|^[^.;]*?\b(?:is|are|was|were|remains?|remained) (?:safe|secure|unaffected)\b"
)
_JA_NEGATION_AFTER = re.compile(
    r"含まれ(?:てい|て)?(?:ません|ない|ておりません|ず)|含まれておりません|含んでいない|含んでおりません"
    r"|含まない|含まず|対象外|(?:は|も)(?:流出|漏えい|漏洩)(?:していない|しておりません|していません)"
    r"|(?:流出|漏えい|漏洩)(?:の事実)?は(?:現時点で)?(?:確認されていません|確認されていない"
    r"|確認されておりません|ありません|ございません)"
    r"|保持して(?:い)?(?:ない|いなかった|なかった|おりません)|保有して(?:い)?(?:ない|おりません)"
    r"|^[^。、]{0,4}(?:は|も)?(?:流出|漏えい|漏洩)(?:せず|しなかった)"
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
    if (
        _NEGATION_BEFORE.search(text, left, start)
        or _NEGATION_NEAR.search(text, max(left, start - _NEAR), start)
        or _NEGATION_NEARER.search(text, max(left, start - _NEARER), start)
    ):
        return True
    rest = text[end:right]
    if _NEGATION_AFTER.match(rest):
        return True
    return not rest.isascii() and bool(_JA_NEGATION_AFTER.search(rest))


_HYPOTHETICAL_BEFORE = re.compile(
    r"\b(?:could|would|might|may|can)\s+(?:\w+\s+)?(?:allow|let|enable|lead to|result in)\b"
    r"|\bcould be used to\b"
)


def _one_sentence(low: str) -> Sentences:
    return Sentences(low, low)


def data_in(
    low: str,
    found: Hits | None = None,
    sents: Sentences | None = None,
    *,
    gated: bool = True,
) -> set[str]:
    """Return the data categories lower-cased ``low`` says were exposed (and does not deny).

    ``found`` is :func:`hits` of ``low`` when the caller has it; ``gated=False`` tries every
    phrasing (tests use it to show the anchors lose nothing).
    """
    tried = (found if found is not None else GATE.hits(low)) if gated else None
    result: set[str] = set()
    for category, key in _DATA_KEYS:
        if tried is not None and key not in tried:
            continue
        for match in GATE.matches(low, key, tried):
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
                result.add(category)
                break
    return result


# Another incident told beside this one ("Royal Mail was hit by ransomware earlier this
# month", "the item also notes Johnson Controls' ransomware cost"): its kind is this one's
# only when nothing else names one.
ASIDE: Final = re.compile(
    r"\b(?:also notes|recalls|recalled|follows|followed|comes after|came after|earlier this"
    r"|last (?:month|year|week)|previous(?:ly)?|unlike|other victims)"
    r"|主な事例|最多|に並ぶ|先月|に続き|を巡っては"
)
# The attacker's doing, not a misconfiguration of the victim: "the threat actor breached its
# RIPE account and misconfigured BGP routing".
_ATTACKER_BEFORE = re.compile(r"\b(?:hackers?|attackers?|threat actors?|intruders?)\b[^.;]{0,60}$")
# Not known to have happened: "it was unclear what information was accessed".
_UNCERTAIN_BEFORE = re.compile(r"\b(?:unclear|not clear|whether|if any)\b[^.;]{0,40}$")
_JA_POSSIBLE_AFTER = re.compile(r"^[^。]{0,12}可能性(?:も|を)?含め")


def _excluded(kind: str, low: str, start: int, end: int) -> bool:
    """A match that does not say this attack was of this kind."""
    if kind == "phishing":
        return bool(_PHISHING_WARNING_BEFORE.search(low, max(0, start - 50), start))
    if kind == "misconfiguration":
        return bool(_ATTACKER_BEFORE.search(low, max(0, start - 80), start))
    if kind == "unauthorized_access":
        return bool(_UNCERTAIN_BEFORE.search(low, max(0, start - 60), start))
    if kind == "ransomware":
        return bool(_JA_POSSIBLE_AFTER.match(low, end))
    return False


def attack_in(
    low: str,
    found: Hits | None = None,
    sents: Sentences | None = None,
    *,
    gated: bool = True,
) -> str:
    """Return the most specific attack kind lower-cased ``low`` names (and does not deny).

    Kinds are tried most specific first and the first found wins, so a ransomware story never
    pays for the long "unauthorized access" pattern.
    """
    tried = (found if found is not None else GATE.hits(low)) if gated else None
    aside: str | None = None
    asides: dict[int, bool] = {}  # sentence start -> tells of another incident
    for kind, key in _ATTACK_KEYS:
        if tried is not None and key not in tried:
            continue
        for match in GATE.matches(low, key, tried):
            start, end = match.span()
            if _excluded(kind, low, start, end):
                continue
            sents = sents or _one_sentence(low)
            lo, hi = sents.span(start)
            if is_denied(low, start, end, lo, hi):
                continue
            if lo not in asides:
                asides[lo] = bool(ASIDE.search(low, lo, hi))
            if asides[lo]:
                aside = aside or kind
                continue
            return kind
    return aside or "unknown"


def attacks_in(low: str) -> set[str]:
    """Return every attack kind lower-cased ``low`` names (and does not deny)."""
    found: set[str] = set()
    sents = _one_sentence(low)
    tried = GATE.hits(low)
    for kind in ATTACK_PRECEDENCE:
        for match in GATE.matches(low, f"attack:{kind}", tried):
            start, end = match.span()
            if _excluded(kind, low, start, end):
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
