"""English words that are also company names, so a name made only of them needs more proof.

Not a dictionary: the words a watchlist of companies tends to contain (brands, fruits,
places, everyday nouns and verbs). The watchlist's ``ambiguous = true`` covers the rest.
"""

from __future__ import annotations

COMMON_WORDS = frozenset(
    """
    about access action active advance advanced advantage air alliance allied alpha amber
    american anchor angel apex apple applied arch arrow ascension atlas august aura avenue
    balance bank banner base beacon bear bell best beyond big black blade block bloom blue
    bold bolt boost box branch brand bridge bright brilliant broad brook brother buffalo
    build builder cable camel canal candle canon capital cardinal care carrier cascade
    castle catalyst cedar center central century champion change charter chase choice
    circle citizens city civic clear clearwater clever cloud coast coastal code coin
    collective columbia comet comfort command common community compass concord connect
    constellation continental core corner cosmos country court craft crane creative crest
    crown crystal cube cumulus curve cypress dawn day delta dell diamond digital direct
    discover discovery dollar dominion dove dragon dream drive driver eagle earth east
    echo edge element elevate elite ember emerald empire energy engine enterprise equity
    essential evergreen evolve excel expedition express fabric factory faith falcon family
    federal fidelity field fire first flag flash fleet flex flow focus forest forge
    fortress fortune forward foundation fountain fox frame freedom frontier fuel fusion
    future galaxy gap garden gate gateway general genesis giant glacier global globe gold
    golden grace grain graph gravity great green grid ground group growth guardian guide
    harbor harmony harvest haven health healthcare heart heritage hero highland hive home
    horizon hot house hub ice icon ideal image impact independence infinity insight
    inspire integrity interactive iron island ivy jade jet journey jupiter key keystone
    kind kingdom lab labs lake land landmark laser leader legacy legend liberty life
    light lighthouse lime line link lion liquid live local lotus loyal lucky lumen
    magnet main maple marathon mariner market marks marvel matrix maverick meadow medical
    mercury meridian merit meta metro midland mile mill mint mission modern monarch
    monitor moon mosaic motion mountain national native nature navigator network new
    next noble north northern nova oak oasis ocean office omega one open optimum optum
    oracle orange orbit orchard origin outlook pacific palm panorama paramount park
    partner path patriot peak pearl penguin people phoenix pilot pine pinnacle pioneer
    pixel planet platinum plaza pulse point polar premier presidio prime prism progress
    prospect providence pulse quantum quest radiant radius rain rainbow range rapid
    raven reach red redwood regal regent reliance republic resolute resource ridge ring
    river road rock rocket root rose royal ruby safe safeguard sage salt sapphire saturn
    scale scope sentinel sequoia shell shield shift signal silver simple sky slack smart
    snowflake solar solid solution sonic source south southern spark sparrow spectrum
    sphere spirit spring spruce square star state steel sterling stone storm strategic
    stream summit sun sunrise sunset superior supreme swift synergy target taurus temple
    terra thrive thunder tide timber titan topic total tower trade trail transit travel
    toll trend tribe trinity triumph true trust truth twilight ultra union united unity
    universal upland valley vanguard vector velocity venture vertex via victory view
    village vintage virtue vision vista vital voyage wave way wealth west western whale
    wild willow wind wing wise wolf world yellow york zenith zero zion zone
    """.split()
)

# Countries and regions, which after a company's name make a national unit ("Orange Spain",
# "Ahold Delhaize USA", "Nissan Oceania"), folded as the matcher folds text.
PLACES = frozenset(
    """
    afghanistan albania algeria andorra angola argentina armenia australia austria
    azerbaijan bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan
    bolivia bosnia botswana brazil brunei bulgaria burundi cambodia cameroon canada chad
    chile china colombia congo croatia cuba cyprus czechia denmark ecuador egypt estonia
    ethiopia fiji finland france gabon germany ghana greece guatemala guinea haiti honduras
    hungary iceland india indonesia iran iraq ireland israel italy jamaica japan jordan
    kazakhstan kenya korea kosovo kuwait laos latvia lebanon libya liechtenstein lithuania
    luxembourg madagascar malawi malaysia maldives mali malta mauritius mexico moldova
    monaco mongolia montenegro morocco mozambique myanmar namibia nepal netherlands
    nicaragua nigeria norway oman pakistan panama paraguay peru philippines poland portugal
    qatar romania russia rwanda senegal serbia singapore slovakia slovenia somalia spain
    sudan sweden switzerland syria taiwan tanzania thailand tunisia turkey turkiye uganda
    ukraine uruguay uzbekistan venezuela vietnam yemen zambia zimbabwe
    uk us usa uae emea apac americas europe asia africa oceania nordics benelux
    espana españa deutschland nederland italia polska schweiz suisse osterreich
    """.split()
)
# Places of two words, checked as a pair.
PLACE_PAIRS = frozenset(
    {
        "hong kong", "new zealand", "south africa", "south korea", "north america",
        "latin america", "south america", "middle east", "united kingdom", "united states",
        "saudi arabia", "sri lanka", "costa rica", "puerto rico",
    }
)  # fmt: skip
