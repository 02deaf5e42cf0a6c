//! The generated corpus of the differential test: templates x values.

/// The pass rate the differential test requires (percent).
pub const REQUIRED_PASS_RATE: f64 = 99.0;

/// Two value sets with the same keys and different kinds of content.
const VALUES: [&str; 2] = [
    r#"
n: 1000000
i: 3
f: 1.5
neg: -2
s: hello world
e: ""
b: true
z: 0
nul: null
big: 12345678901
small: 0.00001
l: [a, b, c]
nums: [3, 1, 2]
m: {a: 1, b: two, c: [x, y], d: {e: f}}
q: 'say "hi" & <b>it''s</b>'
u: "héllo wörld ✓ 日本"
ml: "line1\nline2\n"
"#,
    r#"
n: 0.5
i: -7
f: 100000
neg: -0.25
s: "Mixed Case_words-and.dots"
e: " "
b: false
z: 1e21
nul: ~
big: 9007199254740993
small: 123456789
l: []
nums: [10, 2.5, -1]
m: {}
q: "tab\there\\back"
u: "ℕ ⊆ ℤ"
ml: |
  a: 1
  b: [2]
"#,
];

/// Keys each per-value template is instantiated with (`missing` is absent).
const KEYS: [&str; 18] = [
    "n", "i", "f", "neg", "s", "e", "b", "z", "nul", "big", "small", "l", "nums", "m", "q", "u",
    "ml", "missing",
];

/// Templates over one value (`V` stands for `.Values.KEY`).
const PER_VALUE: [&str; 30] = [
    "{{ V }}",
    "[{{ V | quote }}]",
    "{{ V | squote }}",
    "{{ V | toJson }}",
    "{{ V | toString }}",
    "{{ printf \"%v|%s|%d\" V V V }}",
    "{{ printf \"%q\" V }}",
    "{{ print V V }}",
    "{{ println V }}",
    "{{ if V }}T{{ else }}F{{ end }}",
    "{{ with V }}W:{{ . }}{{ else }}none{{ end }}",
    "{{ empty V }}",
    "{{ V | default \"dflt\" }}",
    "{{ kindOf V }}/{{ typeOf V }}",
    "{{ len V }}",
    "{{ V | upper }}",
    "{{ int V }}|{{ int64 V }}|{{ float64 V }}",
    "{{ not V }}|{{ and V 1 }}|{{ or V 2 }}",
    "{{ range V }}<{{ . }}>{{ else }}empty{{ end }}",
    "{{ range $k, $v := V }}{{ $k }}={{ $v }};{{ end }}",
    "{{ eq V \"a\" }}",
    "{{ coalesce V \"c\" }}|{{ ternary \"y\" \"n\" (empty V) }}",
    "{{ list V V | toJson }}",
    "{{ dict \"k\" V | toJson }}",
    "{{ V | toYaml }}",
    "{{ html V }}|{{ js V }}|{{ urlquery V }}",
    "{{ index (list V) 0 }}",
    "{{ V | b64enc }}",
    "{{ cat \"a\" V \"b\" }}",
    "{{ V | trunc 5 }}",
];

/// Templates that stand alone (run with every value set).
const STANDALONE: &[&str] = &[
    // text, trim markers, comments
    "a {{- \" b \" -}} c",
    "x\n  {{- /* comment */ -}}\n  y",
    "{{/* a comment */}}z",
    "a\n{{- 1 }}\n{{ 2 -}}\nb",
    "{{- \"lead\" }}  \n  {{- \"trail\" -}}  \n",
    // literals
    "{{ 3 }} {{ -2 }} {{ 1.5 }} {{ 1e3 }} {{ 'a' }} {{ true }} {{ 0x1F }} {{ 0o17 }} {{ 1_000 }}",
    "{{ \"esc\\t\\\"q\\\"\\u00e9\" }}|{{ `raw\\n` }}",
    "{{ 1e6 }} {{ 123456789.0 }} {{ 0.000012 }} {{ 100000.0 }} {{ -1e-7 }}",
    // hexadecimal floats (traefik's binary unit factors)
    "{{ 0x1p60 }} {{ 0x1p-2 }} {{ 0x1.8p1 }} {{ -0x.8p1 }} {{ 0X1P+4 }} {{ mulf 3 0x1p60 }} {{ mulf 1.5 0x1p10 | int64 }}",
    "{{ 0x1.8 }}",
    // Go's path package (Sprig's base/dir/ext/clean/isAbs and the os* forms)
    "{{ range list \"\" \".\" \"/\" \"////\" \"x/\" \"a/b/c.tar.gz\" \"/a/../../b/./c//\" \"../x\" \"a/.hidden\" \"é/ü.txt\" }}[{{ base . }}|{{ dir . }}|{{ ext . }}|{{ clean . }}|{{ isAbs . }}|{{ osBase . }}|{{ osDir . }}|{{ osExt . }}|{{ osClean . }}|{{ osIsAbs . }}]{{ end }}",
    "{{ base 3 }}",
    // Sprig's keys and certificates: random, so the cases print their shape
    "{{ $ca := genCA \"ca\" 365 }}{{ hasPrefix \"-----BEGIN CERTIFICATE-----\\n\" $ca.Cert }}|{{ hasSuffix \"-----END CERTIFICATE-----\\n\" $ca.Cert }}|{{ hasPrefix \"-----BEGIN RSA PRIVATE KEY-----\\n\" $ca.Key }}|{{ $c := genSignedCert \"svc\" (list \"10.0.0.1\") (list \"a.example\") 30 $ca }}{{ hasPrefix \"-----BEGIN CERTIFICATE-----\" $c.Cert }}|{{ $s := genSelfSignedCert \"me\" nil nil 1 }}{{ hasPrefix \"-----BEGIN RSA PRIVATE KEY-----\" $s.Key }}|{{ $k := genPrivateKey \"ecdsa\" }}{{ hasPrefix \"-----BEGIN EC PRIVATE KEY-----\\n\" $k }}|{{ (genCAWithKey \"k\" 2 $k).Key | eq $k }}|{{ hasPrefix \"-----BEGIN PRIVATE KEY-----\\n\" (genPrivateKey \"ed25519\") }}|{{ genPrivateKey \"foo\" }}",
    "{{ genSelfSignedCert \"x\" (list \"nope\") nil 1 }}",
    // Sprig's AES (a ciphertext Sprig wrote; ours round-trips) and Master Password derivation
    "{{ decryptAES \"secret\" \"iwJZ6mcqoCm6DeSiufORVPhPSFnBQGJzhYlsLcuHmqULi0ufzYafXj+p2YkMAIqQ\" }}|{{ encryptAES \"k\" \"round trip ✓\" | decryptAES \"k\" }}|{{ encryptAES \"k\" \"\" }}|{{ decryptAES \"k\" \"\" }}|{{ encryptAES \"k\" \"0123456789abcdef\" | len }}",
    "{{ derivePassword 1 \"long\" \"password\" \"user\" \"example.com\" }}|{{ derivePassword 7 \"medium\" \"p\" \"é\" \"site\" }}|{{ derivePassword 2 \"short\" \"\" \"\" \"\" }}|{{ derivePassword 1 \"nope\" \"p\" \"u\" \"s\" }}",
    // semver values and their methods
    "{{ semver \"v1.2\" }}|{{ (semver \"1.2.3\").Compare (semver \"1.10.0\") }}|{{ (semver \"1.10.0\").Compare (semver \"1.2.3\") }}|{{ (semver \"1.2.3\").Compare (semver \"v1.2.3\") }}|{{ $v := semver \"2.0.0-rc.1+b7\" }}{{ $v }}|{{ $v.String }}|{{ $v.LessThan (semver \"2.0.0\") }}|{{ $v.GreaterThan (semver \"1.9.9\") }}|{{ $v.Equal (semver \"2.0.0-rc.1\") }}|{{ typeOf $v }}|{{ kindOf $v }}|{{ kindIs \"ptr\" $v }}|{{ $v.Major }}.{{ $v.Minor }}.{{ $v.Patch }}|{{ $v.Prerelease }}|{{ $v.Metadata }}|{{ $v.Original }}",
    "{{ (semver \"1.2.3\").Compare \"1.2.3\" }}",
    "{{ (semver \"1.2.3\").IncMinor }}|{{ (semver \"v1.2.3-x\").IncPatch }}|{{ (semver \"1.2.3\").IncMajor }}",
    // variables
    "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
    "{{ $x := .Values.s }}{{ $x }}|{{ $.Values.i }}",
    "{{ range $i, $v := .Values.l }}{{ $i }}{{ $v }}{{ end }}|{{ range $v := .Values.nums }}{{ $v }},{{ end }}",
    "{{ with $m := .Values.m }}{{ $m.a }}{{ end }}",
    // control
    "{{ if .Values.nope }}a{{ else if .Values.b }}b{{ else }}c{{ end }}",
    "{{ with .Values.nope }}a{{ else with .Values.s }}{{ . }}{{ else }}c{{ end }}",
    "{{ range 5 }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}",
    "{{ range .Values.m }}{{ . }};{{ end }}",
    "{{ range $k, $v := .Values.m }}{{ $k }}:{{ $v }} {{ end }}",
    "{{ range 0 }}x{{ else }}zero{{ end }}",
    "{{ range .Values.nums }}{{ . }}{{ end }}",
    // define / template / block / include / tpl
    "{{ define \"t.x\" }}[{{ . }}]{{ end }}{{ template \"t.x\" 5 }}{{ template \"t.x\" .Values.s }}",
    "{{ block \"blk\" .Values.i }}<{{ . }}>{{ end }}",
    "{{ define \"n\" }}{{ .a }}-{{ .b }}{{ end }}{{ include \"n\" (dict \"a\" 1 \"b\" .Values.s) | quote }}",
    "{{ define \"lbl\" }}app: x\nrel: {{ .Release.Name }}{{ end }}labels:\n  {{- include \"lbl\" . | nindent 2 }}",
    "{{ tpl \"{{ .Values.s }}!\" . }}",
    "{{ tpl \"{{ .Release.Name }}-{{ .Values.i }}\" . }}",
    "{{ template \"undefined\" }}",
    "{{ include \"undefined\" . }}",
    // builtins
    "{{ and 1 0 2 }} {{ or 0 \"\" 3 }} {{ not 0 }} {{ len \"héllo\" }}",
    "{{ and }}",
    "{{ index .Values.m \"c\" 1 }}|{{ index .Values.l 1 }}|{{ index .Values.m \"zz\" }}",
    "{{ index .Values.l 10 }}",
    "{{ slice .Values.l 1 }}|{{ slice .Values.l 1 2 }}",
    "{{ printf \"%5.2f|%-4s|%q|%v|%x|%05d|%+d|%t|%%\" 3.14159 \"ab\" \"x\" .Values.m 255 42 7 true }}",
    "{{ printf \"%d %d\" 1 }}|{{ printf \"%d\" 1 2 }}|{{ printf \"%z\" 1 }}",
    "{{ printf \"%v %v %v %v\" 1e6 1e20 1e21 1.0 }}",
    "{{ printf \"%.3g|%g|%e|%.1e\" 1234.5678 0.00001 12345.678 0.5 }}",
    "{{ print 1 2 \"a\" 3 nil }}|{{ println 1 \"a\" nil }}",
    "{{ eq 1 1 2 }} {{ ne \"a\" \"b\" }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}",
    "{{ eq .Values.i 3 }}",
    "{{ lt .Values.i 3.0 }}",
    "{{ eq .Values.m .Values.m }}",
    "{{ eq nil nil }}",
    "{{ html \"<a href='x'>&\\\"\" }}|{{ js \"a'b\\\"<>&=\\n\" }}|{{ urlquery \"a b&c=d/é\" }}",
    // sprig strings
    "{{ .Values.s | title }}|{{ \"HELLO\" | lower }}|{{ \"hello\" | upper }}",
    "{{ trim \"  x  \" }}|{{ trimAll \"$\" \"$5.00$\" }}|{{ trimPrefix \"he\" \"hello\" }}|{{ trimSuffix \"lo\" \"hello\" }}",
    "{{ replace \" \" \"-\" .Values.s }}|{{ contains \"world\" .Values.s }}|{{ hasPrefix \"hel\" .Values.s }}|{{ hasSuffix \"x\" .Values.s }}",
    "{{ indent 4 \"a\\nb\" }}|{{ nindent 2 \"a\\nb\" }}",
    "{{ \"abcdef\" | trunc 3 }}|{{ \"abcdef\" | trunc -2 }}|{{ \"ab\" | trunc 10 }}",
    "{{ repeat 3 \"ab\" }}|{{ substr 1 3 \"abcdef\" }}|{{ nospace \"a b c\" }}",
    "{{ split \",\" \"a,b,c\" }}|{{ (split \",\" \"a,b\")._1 }}|{{ splitList \",\" \"a,b,c\" }}|{{ join \"-\" .Values.l }}",
    "{{ join \",\" .Values.nums }}|{{ join \",\" (list 1 nil \"x\") }}",
    "{{ b64enc \"hello\" }}|{{ b64dec \"aGVsbG8=\" }}|{{ b64dec \"!!\" }}|{{ sha256sum \"abc\" }}",
    "{{ regexMatch \"^h.*d$\" .Values.s }}|{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}|{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"$1W\" }}",
    "{{ regexFindAll \"[a-z]+\" \"ab 12 cd ef\" 2 }}|{{ regexFind \"[0-9]+\" \"ab 12 cd\" }}",
    "{{ quote \"a\" 1 nil true }}|{{ squote \"a\" 2 }}",
    // sprig lists
    "{{ list 1 \"a\" 2.5 nil | toJson }}|{{ list }}",
    "{{ first .Values.l }}|{{ last .Values.l }}|{{ rest .Values.l }}|{{ initial .Values.l }}",
    "{{ append .Values.l \"d\" }}|{{ prepend .Values.l \"z\" }}|{{ concat .Values.l (list 1 2) }}|{{ reverse .Values.l }}",
    "{{ uniq (list 1 1 2 \"a\" \"a\") }}|{{ without (list 1 2 3) 2 }}|{{ has \"b\" .Values.l }}|{{ compact (list 1 0 \"\" \"x\") }}",
    "{{ sortAlpha (list \"b\" \"a\" \"c\") }}|{{ until 4 }}|{{ untilStep 0 10 3 }}",
    "{{ slice .Values.l 0 1 }}",
    // sprig dicts
    "{{ $d := dict \"a\" 1 \"b\" 2 }}{{ $_ := set $d \"c\" 3 }}{{ $d }}|{{ get $d \"a\" }}|{{ get $d \"zz\" }}|{{ hasKey $d \"b\" }}|{{ keys $d | sortAlpha }}",
    "{{ $d := dict \"a\" 1 }}{{ $_ := unset $d \"a\" }}{{ $d }}|{{ dict \"x\" }}",
    "{{ merge (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"y\" 2)) | toJson }}",
    "{{ mergeOverwrite (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"y\" 2)) | toJson }}",
    "{{ pick .Values.m \"a\" \"b\" | toJson }}|{{ omit .Values.m \"a\" | toJson }}|{{ values (dict \"a\" 1 \"b\" 2) }}",
    "{{ pluck \"a\" (dict \"a\" 1) (dict \"a\" 2) (dict \"b\" 3) }}",
    "{{ .Values.m | toYaml }}",
    "{{ .Values.m | toJson | fromJson | toJson }}",
    "{{ (fromYaml \"a: 1\\nb: [x]\").b }}|{{ fromYaml \"a: 1\" | toJson }}",
    "{{ deepCopy .Values.m | toJson }}",
    // math
    "{{ add 1 2 }} {{ sub 5 7 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 }} {{ max 1 5 3 }} {{ min 4 2 8 }}",
    "{{ add .Values.i .Values.f }}|{{ add1 .Values.i }}|{{ mul .Values.f 2 }}",
    "{{ div 1 0 }}",
    "{{ addf 1.5 2 }}|{{ subf 5 1.5 }}|{{ mulf 1.5 2 }}|{{ divf 1 4 }}|{{ floor 1.7 }}|{{ ceil 1.2 }}",
    "{{ typeOf (add 1 2) }}|{{ typeOf 1 }}|{{ typeOf 1.5 }}|{{ typeOf (list) }}|{{ typeOf (dict) }}",
    "{{ atoi \"42\" }}|{{ int \"12\" }}|{{ int \"x\" }}|{{ float64 \"1.5\" }}|{{ int 3.9 }}",
    // errors
    "{{ .Values.missing.key }}",
    "{{ .Values.s.x }}",
    "{{ required \"s is required\" .Values.nope }}",
    "{{ required \"s is required\" .Values.s }}",
    "{{ fail \"boom\" }}",
    "{{ nope }}",
    "{{ if }}",
    "{{ end }}",
    "{{ range .Values.l }}",
    "{{ .Values.s | upper 1 }}",
    "{{ upper 1 }}",
    "{{ indent \"x\" \"y\" }}",
    "{{ $undefined }}",
    "{{ 1 | 2 }}",
    "{{ \"unterminated }}",
    "{{ break }}",
    "line1\nline2 {{ .Values.m.d.e.f }}",
    "{{ len 3 }}",
    "{{ index 1 1 }}",
    "{{ lt .Values.m 1 }}",
];

/// Every (template, values YAML) case.
pub fn cases() -> Vec<(String, String)> {
    let mut out = vec![];
    for values in VALUES {
        for t in PER_VALUE {
            for k in KEYS {
                out.push((t.replace('V', &format!(".Values.{k}")), values.to_string()));
            }
        }
        for t in STANDALONE.iter().chain(MORE).chain(LANGUAGE).chain(OFFLINE) {
            out.push((t.to_string(), values.to_string()));
        }
    }
    out.extend(yaml_cases());
    out.extend(json_cases());
    out.extend(long_cases());
    out.extend(semver_cases());
    out.extend(date_cases());
    out.extend(toml_cases());
    out.extend(yaml11_cases());
    out.extend(
        [
            "{{ mustRegexSplit \"a+\" \"xaaybaz\" -1 | toJson }}|{{ mustRegexSplit \"a\" \"xaya\" 2 | toJson }}",
            "{{ mustRegexFind \"[0-9]+\" \"ab12cd34\" }}|{{ mustRegexFindAll \"[0-9]+\" \"ab12cd34\" -1 | toJson }}",
            "{{ htpasswd \"u\" \"p\" | hasPrefix \"u:$2a$10$\" }}|{{ htpasswd \"u\" \"p\" | len }}|{{ htpasswd \"a:b\" \"p\" }}",
            "{{ htpasswd \"u\" \"pässword\" \"sha\" }}|{{ htpasswd \"u\" \"\" \"sha\" }}",
            "{{ randBytes 12 | len }}|{{ randBytes 0 | len }}|{{ randBytes 3 | b64dec | len | lt 0 }}",
        ]
        .iter()
        .map(|t| (t.to_string(), String::new())),
    );
    out
}

/// Values for the `toYaml` cases: strings on the edge of YAML's quoting rules.
pub const YAML_VALUES: &str = r##"
strs: ["", " lead", "trail ", "a: b", "a:b", "#x", "a #b", "a#b", "- x", "-x", "? x", "@x", "`x", "!x", "&x", "*x", "|x", ">x", "%x", "'q'", "\"dq\"", "{x}", "[x]", "x,y", "true", "True", "yes", "no", "on", "off", "y", "n", "null", "~", "1", "1.5", "1e3", "0x1F", "0755", "0o17", "1_000", "+1", ".5", "1.", ".inf", "-.inf", ".nan", "1:20", "2001-12-14", "2001-12-14T21:59:43Z", "12:30", "line1\nline2", "trailing\n", "two\n\n", "tab\there", "x\ty", "é ✓", "<<", "---", "...", "a---", "---x", "=", "x=y", "a b", " ", "\u00e9", "null2", "yes!", "0.0.1", "1.2.3", "v1.0", "http://x/y?a=b&c=d", "key: value", "!important", "1e", "e3", "0b101", "-", "--", "?", ":", "a:", ":a"]
nested: {b: [1, {c: d, a: [x, {z: 1, y: [[], {}]}]}], a: {}, e: [], "": empty-key, "1": one, "10": ten, "2": two, "a10": x, "a2": y, "B": upper, "_": under}
nums: [0, -0.0, 1.5, 1000000, 1e21, 1.0e-7, 0.000001, 123456789.5, 9007199254740993, -3, 1e20, 3.0]
ml: "first\n  indented\nlast"
"##;

/// `toYaml` cases over [`YAML_VALUES`].
pub fn yaml_cases() -> Vec<(String, String)> {
    let mut out = vec![];
    for i in 0..96 {
        out.push((format!("{{{{ index .Values.strs {i} | toYaml }}}}|{{{{ dict \"k\" (index .Values.strs {i}) | toYaml }}}}|{{{{ list (index .Values.strs {i}) | toYaml }}}}"), YAML_VALUES.to_string()));
    }
    for t in YAML_MORE.iter().copied().chain([
        "{{ .Values.nested | toYaml }}",
        "{{ .Values.nums | toYaml }}",
        "{{ .Values | toYaml }}",
        "{{ .Values.ml | toYaml }}",
        "x:\n  {{- .Values.nested | toYaml | nindent 2 }}",
        "{{ list .Values.nested .Values.nums | toYaml }}",
        "{{ dict \"m\" .Values.ml \"n\" (list .Values.ml) | toYaml }}",
        "{{ list (list 1 2) (list) (dict) (list (dict \"a\" 1 \"b\" 2)) | toYaml }}",
        "{{ toYaml nil }}|{{ toYaml true }}|{{ toYaml 5 }}|{{ toYaml 1.5 }}|{{ toYaml \"s\" }}",
    ]) {
        out.push((t.to_string(), YAML_VALUES.to_string()));
    }
    out
}

/// Cases for the word-level string, list, math and encoding functions.
pub const MORE: &[&str] = &[
    "{{ snakecase \"FirstName LastName\" }}|{{ snakecase \"HTTPServer\" }}|{{ snakecase \"already_snake\" }}|{{ snakecase \"a1B2\" }}|{{ snakecase \"getHTTPResponseCode\" }}",
    "{{ kebabcase \"FirstName\" }}|{{ kebabcase \"some_words here\" }}|{{ kebabcase \"XMLHttpRequest\" }}",
    "{{ camelcase \"http_server-name\" }}|{{ camelcase \"hello world\" }}|{{ camelcase \"_lead\" }}|{{ camelcase \"a.b\" }}",
    "{{ swapcase \"Hello World\" }}|{{ swapcase \"ÉtÉ\" }}|{{ initials \"First Try\" }}|{{ initials \"  a  b c\" }}",
    "{{ plural \"one\" \"many\" 1 }}/{{ plural \"one\" \"many\" 2 }}/{{ plural \"one\" \"many\" 0 }}",
    "{{ abbrev 8 \"hello world\" }}|{{ abbrev 3 \"hello\" }}|{{ abbrev 20 \"short\" }}|{{ abbrevboth 5 10 \"1234 5678 9123\" }}|{{ abbrevboth 0 8 \"abcdefghijkl\" }}",
    "{{ wrap 5 \"a b c d e f g\" }}|{{ wrapWith 5 \"|\" \"a b c d e f g\" }}|{{ wrap 3 \"abcdefgh ij\" }}|{{ wrap 10 \"short\" }}",
    "{{ seq 5 }}|{{ seq 3 6 }}|{{ seq 10 -3 1 }}|{{ seq 3 1 }}|{{ seq 0 }}|{{ seq 1 2 10 }}|{{ seq 5 1 1 }}|{{ seq }}",
    "{{ splitn \":\" 2 \"k:v:w\" | toJson }}|{{ splitn \",\" 0 \"a,b\" | toJson }}|{{ splitn \",\" -1 \"a,b,c\" | toJson }}",
    "{{ chunk 2 (list 1 2 3 4 5) | toJson }}|{{ chunk 3 (list) | toJson }}",
    "{{ dig \"a\" \"b\" \"dflt\" .Values.m | toJson }}|{{ dig \"d\" \"e\" \"dflt\" .Values.m }}|{{ dig \"zz\" \"dflt\" .Values.m }}",
    "{{ maxf 1.5 2.5 }}|{{ minf 3 1.25 }}|{{ maxf .Values.f 0 }}|{{ round 3.14159 2 }}|{{ round 2.5 0 }}|{{ round 1.234 1 0.3 }}",
    "{{ regexSplit \",\" \"a,b,c\" -1 }}|{{ regexSplit \"[0-9]+\" \"a1b22c\" 2 }}|{{ regexSplit \",\" \"a,b\" 0 }}",
    "{{ b32enc \"hello\" }}|{{ b32dec \"NBSWY3DP\" }}|{{ sha1sum \"abc\" }}|{{ sha512sum \"abc\" }}|{{ adler32sum \"abc\" }}",
    "{{ typeIsLike \"[]interface {}\" .Values.l }}|{{ typeIsLike \"string\" .Values.s }}|{{ typeIsLike \"int\" 1 }}",
    "{{ .Values.m | toPrettyJson }}|{{ list 1 (dict) (list) \"<a>\" | toPrettyJson }}|{{ .Values.q | toRawJson }}|{{ dict \"k\" \"<&>\" | toRawJson }}",
];

/// More cases of the language itself: trim markers, scoping, pipelines, parse errors.
pub const LANGUAGE: &[&str] = &[
    "a  {{- /* c */}}  b",
    "a  {{/* c */ -}}  b",
    "{{- /* x */ -}}\n\n  y",
    "a\n\n{{- if true }}\n  b\n{{- end }}\n",
    "{{ if true -}} \n\t x \n\t {{- end }}",
    "{{- range $i, $e := .Values.l -}}\n{{ $i }}:{{ $e }}\n{{- end }}",
    "{{ $x := 1 }}{{ range .Values.l }}{{ $x = . }}{{ end }}{{ $x }}",
    "{{ $x := 1 }}{{ with .Values.s }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}",
    "{{ $.Values.i }}",
    "{{ range .Values.l }}{{ $.Values.s }}{{ end }}",
    "{{ with $x := .Values.m }}{{ $x.b }}{{ end }}",
    "{{ if and .Values.s (not .Values.e) }}yes{{ end }}",
    "{{ if or .Values.missing .Values.e .Values.z }}t{{ else }}f{{ end }}",
    "{{ and .Values.missing.x 1 }}",
    "{{ or 1 .Values.missing.x }}",
    "{{ .Values.s | printf \"%s-%s\" \"x\" }}",
    "{{ \"x\" | printf \"%s|%s\" .Values.s | upper }}",
    "{{ (list 1 2 3) | len }}|{{ len (list) }}",
    "{{ (dict \"a\" (dict \"b\" 5)).a.b }}",
    "{{ (index .Values.m \"d\").e }}",
    "{{ $m := .Values.m }}{{ $m.d.e }}",
    "{{ define \"a\" }}A{{ template \"b\" . }}{{ end }}{{ define \"b\" }}B{{ . }}{{ end }}{{ template \"a\" 1 }}",
    "{{ define \"e\" }}{{ end }}[{{ template \"e\" }}]",
    "{{ define \"x\" }}1{{ end }}{{ define \"x\" }}2{{ end }}{{ template \"x\" }}",
    "{{ printf \"%6.2f|%-6d|%06.1f|%x|%X|%o|%b|%c|%U\" 3.14159 42 2.5 \"hi\" 255 8 5 65 65 }}",
    "{{ printf \"%v|%+v|%#v\" .Values.m .Values.l .Values.s }}",
    "{{ printf \"%s\" nil }}|{{ printf \"%d\" nil }}|{{ printf \"%v\" nil }}",
    "{{ printf \"%t|%t\" true 1 }}",
    "{{ printf \"%3s|%-3s|%.1s\" \"abcd\" \"a\" \"xyz\" }}",
    "{{ printf \"%e|%E|%.0f|%g\" 123456.789 0.000123 2.5 100000000.0 }}",
    "{{ print \"a\" 1 2 \"b\" true false }}",
    "{{ print .Values.l .Values.m }}",
    "{{ println }}|{{ print }}",
    "{{ 1 }}{{ 2.0 }}{{ -0.0 }}{{ 1e100 }}{{ 0.1 }}{{ 100000.0 }}{{ 1000000.0 }}",
    "{{ 'x' }}{{ '\\n' }}{{ '\\u00e9' }}",
    "{{ \"\\x41\\101\\u0041\" }}",
    "{{ ne 1 2 }}{{ ne \"a\" \"a\" }}{{ lt \"a\" \"b\" }}{{ le 1.5 1.5 }}{{ gt 2 1 }}{{ ge \"a\" \"b\" }}",
    "{{ eq \"a\" \"b\" \"c\" \"a\" }}",
    "{{ lt 1 1.5 }}",
    "{{ eq true 1 }}",
    "{{ lt true false }}",
    "{{ index \"abc\" 1 }}|{{ slice \"abcdef\" 1 3 }}|{{ len \"\" }}",
    "{{ index .Values.m \"d\" \"e\" }}",
    "{{ index .Values.l -1 }}",
    "{{ break }}",
    "{{ range . }}{{ else }}{{ break }}{{ end }}",
    "{{ if }}{{ end }}",
    "{{ if true }}x{{ else }}y{{ else }}z{{ end }}",
    "{{ end }}",
    "{{ define \"a\" }}{{ define \"b\" }}{{ end }}{{ end }}",
    "{{ .Values.s.x.y }}",
    "{{ $x := }}",
    "{{ $x = 1 }}",
    "{{ 3 | printf }}",
    "{{ (1) }}{{ (\"s\") }}",
    "{{ ( ) }}",
    "{{ .Values | keys | sortAlpha | join \",\" }}",
    "{{ \"a\" \"b\" }}",
    "{{ nil }}",
    "{{ .Values.nul.x }}",
    "{{ template \"t\" }}{{ define \"t\" }}T{{ end }}",
    "text with {{ \"{{\" }} braces }}",
    "{{ `a\\nb` }}",
    "{{/*\nmulti\nline\n*/}}ok",
    "{{ range $i := until 3 }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $i }}{{ end }}",
    "{{ range $k, $v := dict \"b\" 1 \"a\" 2 \"B\" 3 \"_\" 4 \"1\" 5 }}{{ $k }}{{ end }}",
    "{{ with .Values.missing }}{{ else }}{{ .Values.i | toJson }}{{ end }}",
    "{{ tpl \"{{ define \\\"z\\\" }}Z{{ end }}{{ template \\\"z\\\" }}\" . }}",
    "{{ tpl \"{{ .Values.missing.x }}\" . }}",
    "{{ tpl \"{{ fail \\\"inner\\\" }}\" . }}",
    "{{ define \"inc\" }}{{ .Values.missing.y }}{{ end }}{{ include \"inc\" . }}",
    "{{ define \"inc2\" }}{{ required \"need it\" .Values.missing }}{{ end }}{{ include \"inc2\" . }}",
];

/// Cases whose output Helm fixes although the input is random or offline.
pub const OFFLINE: &[&str] = &[
    "{{ randAlphaNum 8 | len }}|{{ randAlpha 3 | len }}|{{ randNumeric 4 | regexMatch \"^[0-9]{4}$\" }}|{{ randAscii 0 }}",
    "{{ uuidv4 | len }}|{{ regexMatch \"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$\" uuidv4 }}",
    "{{ shuffle \"aaa\" }}|{{ randInt 5 6 }}",
    "{{ lookup \"v1\" \"Secret\" \"ns\" \"name\" | toJson }}|{{ lookup \"v1\" \"Pod\" \"\" \"\" | len }}",
    "{{ getHostByName \"example.com\" | quote }}",
    "{{ fromYamlArray \"- a\\n- 1\\n- {b: c}\" | toJson }}|{{ fromYamlArray \"\" | toJson }}",
    "{{ fromJsonArray \"[1, \\\"a\\\", null]\" | toJson }}|{{ fromJsonArray \"[]\" | toJson }}",
    "{{ fromYaml \"\" | toJson }}|{{ fromJson \"{}\" | toJson }}|{{ fromYaml \"a: [1, 2.5]\" | toJson }}",
];

/// `fromJson` inputs, valid and not, for Go's error texts.
pub const JSON_INPUTS: &[&str] = &[
    "{bad",
    "{\"a\":1",
    "{\"a\" 1}",
    "{\"a\":1,}",
    "[1,]",
    "[1 2]",
    "{\"a\":tru}",
    "{\"a\":nul}",
    "{\"a\":-}",
    "{\"a\":1.}",
    "{\"a\":1e}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12g4\"}",
    "{} x",
    "",
    "  ",
    "[1]",
    "1",
    "\"s\"",
    "true",
    "null",
    "{\"a\":01}",
    "{'a':1}",
    "{\"a\":[1,{\"b\":null}]}",
    "{\"a\":\"tab\there\"}",
    "{\"é\":\"✓\"}",
    "{\"a\":1e400}",
    "{\"a\":-0}",
    "{\"a\":\"\\ud83d\\ude00\"}",
    "{\"a\":\"\\/\"}",
];

/// `fromJson`/`fromJsonArray` cases over [`JSON_INPUTS`].
pub fn json_cases() -> Vec<(String, String)> {
    JSON_INPUTS
        .iter()
        .map(|j| {
            let q = ferroflux_gotemplate::gofmt::quote(j);
            (
                format!("{{{{ fromJson {q} | toJson }}}}|{{{{ fromJsonArray {q} | toJson }}}}"),
                String::new(),
            )
        })
        .collect()
}

/// `toYamlPretty` and `fromYaml` shapes.
pub const YAML_MORE: &[&str] = &[
    "{{ .Values.nested | toYamlPretty }}",
    "{{ .Values | toYamlPretty }}",
    "{{ list (list 1 2) (dict \"a\" (list 3)) | toYamlPretty }}",
    "{{ .Values.strs | toYamlPretty }}",
    "{{ fromYaml \"- a\" | toJson }}|{{ fromYaml \"s\" | toJson }}|{{ fromYaml \"1\" | toJson }}|{{ fromYaml \"true\" | toJson }}",
];

/// Long strings, which go-yaml v2 folds at column 80.
pub const LONG_VALUES: &str = r##"
long: "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu vvvv wwww"
longq: "a: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu vvvv wwww xxxx yyyy zzzz 1111 2222 3333 4444 5555 6666 7777 8888 9999"
longd: "true aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss\ttttt uuuu  vvvv wwww"
twospaces: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  bbbb   cccc dddd"
noSpaces: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
unicode: "ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé ééééé"
deep: {a: {b: {c: "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt"}}}
list: ["aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu vvvv", {k: "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr"}]
"##;

/// `toYaml` cases over [`LONG_VALUES`].
pub fn long_cases() -> Vec<(String, String)> {
    [
        "{{ .Values | toYaml }}",
        "{{ .Values.long | toYaml }}|{{ .Values.longq | toYaml }}|{{ .Values.longd | toYaml }}",
        "{{ .Values | toYamlPretty }}",
        "{{ dict \"a_rather_long_key_name_for_the_column_count\" .Values.long | toYaml }}",
    ]
    .iter()
    .map(|t| (t.to_string(), LONG_VALUES.to_string()))
    .collect()
}

/// Versions and constraints for `semver`/`semverCompare` (Masterminds/semver v3's rules).
pub const SEMVER_VERSIONS: &[&str] = &[
    "1.2.3",
    "v1.2.3",
    "1.2",
    "1",
    "0.0.3",
    "0.2.5",
    "1.2.3-beta.1+b5",
    "1.3.0-alpha",
    "2.0.0",
    "1.2.4",
    "0.0.0",
    "1.10.0",
    "2.0.0-rc.1",
    "1.2.3+meta",
    "01.2.3",
    "1.2.3-01",
    "x.y",
    "",
    "1.2.3.4",
    "1.2.3-alpha.10",
    "1.2.3-alpha.9",
    "1.2.3-alpha.beta",
];

/// Constraints for `semverCompare`.
pub const SEMVER_CONSTRAINTS: &[&str] = &[
    "1.2.3",
    "=1.2.3",
    "!=1.2.3",
    ">1.2.3",
    "<1.2.3",
    ">=1.2.3",
    "<=1.2.3",
    "=>1.2",
    "=<1.2",
    "~1.2.3",
    "~>1.2",
    "~1",
    "~0.0.0",
    "^1.2.3",
    "^1.2",
    "^1",
    "^0.2.3",
    "^0.2",
    "^0.0.3",
    "^0.0",
    "^0",
    "1.2.x",
    "1.x",
    "*",
    "x",
    "",
    ">1.x",
    ">1.2.x",
    "<=1.x",
    "<=1.2.x",
    "!=1.x",
    "!=1.2.x",
    ">=1.2 <2",
    ">=1.2, <2",
    "1.2 - 1.4.5",
    "1.2.3 - 2",
    "<1 || >=2",
    "^1.2.3 || ~0.2",
    ">=1.2.3-0",
    ">=1.2.3-alpha",
    "~1.2.3-beta",
    "^1.3.0-alpha",
    "bad",
    ">= 1.2.3",
    "> 1.x || < 0.1",
    "1.2.3-beta.1",
    ">1.2.3-alpha.9",
    ">=1.2.3-alpha <1.2.3",
];

/// `semver` field access and `semverCompare` over every constraint x version pair.
pub fn semver_cases() -> Vec<(String, String)> {
    let q = ferroflux_gotemplate::gofmt::quote;
    let mut out = vec![];
    for v in SEMVER_VERSIONS {
        let v = q(v);
        out.push((
            format!("{{{{ $v := semver {v} }}}}{{{{ $v.Major }}}}|{{{{ $v.Minor }}}}|{{{{ $v.Patch }}}}|{{{{ $v.Prerelease }}}}|{{{{ $v.Metadata }}}}|{{{{ $v.Original }}}}"),
            String::new(),
        ));
    }
    for c in SEMVER_CONSTRAINTS {
        // an error stops the template: the versions that parse, all in one case
        out.push((
            SEMVER_VERSIONS
                .iter()
                .filter(|v| semver_ok(v))
                .map(|v| format!("{{{{ semverCompare {} {} }}}}|", q(c), q(v)))
                .collect(),
            String::new(),
        ));
    }
    for v in SEMVER_VERSIONS.iter().filter(|v| !semver_ok(v)) {
        out.push((
            format!("{{{{ semverCompare \">=1\" {} }}}}", q(v)),
            String::new(),
        ));
    }
    out
}

fn semver_ok(v: &str) -> bool {
    !matches!(v, "1.2.3-01" | "x.y" | "" | "1.2.3.4")
}

/// Go reference-time layouts for the date functions.
pub const DATE_LAYOUTS: &[&str] = &[
    "2006-01-02T15:04:05Z07:00",
    "2006-01-02 15:04:05.999999999 -0700 MST",
    "Mon Jan _2 15:04:05 2006",
    "Monday, 02-Jan-06 15:04:05 MST",
    "02 Jan 06 15:04 -0700",
    "Jan 2, 2006 at 3:04pm (MST)",
    "January 2 2006 03:04:05 PM",
    "2006-01-02T15:04:05.000Z0700",
    "2006-01-02T15:04:05.999-07:00:00",
    "15:04:05,000 Z07 2006/1/2",
    "__2 002 _2006 x",
    "20060102150405",
];

/// Instants (Unix seconds) the date cases format.
pub const DATE_SECONDS: &[i64] = &[
    0,
    1_700_000_000,
    951_782_400,
    -86_401,
    4_102_444_799,
    1_234_567_890,
];

/// Date functions over fixed instants: no case depends on the clock except by shape.
pub fn date_cases() -> Vec<(String, String)> {
    let q = ferroflux_gotemplate::gofmt::quote;
    let mut out = vec![];
    for l in DATE_LAYOUTS {
        let t: String = DATE_SECONDS
            .iter()
            .map(|s| {
                format!(
                    "{{{{ date {} {s} }}}}|{{{{ dateInZone {} {s} \"UTC\" }}}}\n",
                    q(l),
                    q(l)
                )
            })
            .collect();
        out.push((t, String::new()));
    }
    let parse: &[(&str, &str)] = &[
        ("2006-01-02", "2024-02-29"),
        ("2006-01-02", "2023-02-29"),
        ("2006-01-02", "2024-13-01"),
        ("2006-01-02", "x"),
        ("2006-01-02", "2024-01-02 extra"),
        ("2006-01-02T15:04:05Z07:00", "2024-03-10T12:34:56Z"),
        ("2006-01-02T15:04:05Z07:00", "2024-03-10T12:34:56+02:00"),
        (
            "2006-01-02T15:04:05Z07:00",
            "2024-03-10T12:34:56.123456-07:30",
        ),
        ("2006-01-02T15:04:05.000Z07:00", "2024-03-10T12:34:56.5Z"),
        ("2006-01-02 15:04:05 MST", "2024-03-10 12:34:56 UTC"),
        ("2006-01-02 15:04:05 MST", "2024-03-10 12:34:56 CET"),
        ("Jan 2 2006 3:04PM", "feb 29 2024 12:05AM"),
        ("Jan 2 2006 3:04PM", "Mar 1 2024 1:05PM"),
        ("02/01/06", "31/12/68"),
        ("02/01/06", "31/12/69"),
        ("15:04", "25:00"),
        ("15:04", "23:60"),
        ("Monday 2006", "Friday 2021"),
        ("2006-01-02", ""),
    ];
    for (l, v) in parse {
        out.push((
            format!("{{{{ toDate {} {} }}}}|{{{{ toDate {} {} | unixEpoch }}}}|{{{{ toDate {} {} | date \"2006-01-02T15:04:05.999999999Z07:00 MST\" }}}}", q(l), q(v), q(l), q(v), q(l), q(v)),
            String::new(),
        ));
        out.push((
            format!("{{{{ mustToDate {} {} }}}}", q(l), q(v)),
            String::new(),
        ));
    }
    for d in [
        "1h", "-90m", "1.5h", "1h2m3.5s", "300ms", "1.5us", "2µs", "7ns", "0", "", "x", "1d", "1",
        "-0", "+5m", ".5s", "1.s", "9999999h",
    ] {
        out.push((
            format!("{{{{ dateModify {} (toDate \"2006-01-02\" \"2024-01-31\") }}}}|{{{{ durationRound {} }}}}|{{{{ mustDateModify {} (toDate \"2006-01-02\" \"2024-01-31\") | unixEpoch }}}}", q(d), q(d), q(d)),
            String::new(),
        ));
    }
    for n in [
        "0", "1", "59", "60", "61", "3599", "3600", "3661", "86400", "90061", "31536001", "-5",
        "x", "1.5",
    ] {
        out.push((format!("{{{{ duration {} }}}}|{{{{ duration {n} }}}}|{{{{ duration (int64 {n}) }}}}|{{{{ durationRound (int64 {n}) }}}}|{{{{ durationRound (mul (int64 {n}) 1000000000) }}}}", q(n)), String::new()));
    }
    out.extend(
        [
            "{{ htmlDate 1700000000 }}|{{ htmlDateInZone 1700000000 \"UTC\" }}|{{ date_in_zone \"2006\" 0 \"UTC\" }}",
            "{{ dateInZone \"2006-01-02 15:04 MST Z07:00\" 0 \"Europe/Paris\" }}|{{ dateInZone \"15:04 MST\" 1720000000 \"Europe/Paris\" }}|{{ dateInZone \"15:04 MST -0700\" 1720000000 \"America/Sao_Paulo\" }}|{{ dateInZone \"15:04 MST\" 1720000000 \"Asia/Kolkata\" }}|{{ htmlDateInZone 1700000000 \"Pacific/Kiritimati\" }}",
            "{{ dateInZone \"15:04 MST\" 0 \"Nowhere/X\" }}|{{ dateInZone \"15:04 MST\" 0 \"Local\" }}|{{ dateInZone \"15:04 MST\" 0 \"\" }}|{{ dateInZone \"15:04 MST\" 0 \"../etc/passwd\" }}|{{ dateInZone \"15:04 MST\" (toDate \"2006-01-02T15:04:05Z07:00\" \"2024-03-10T23:30:00-05:00\") \"America/New_York\" }}",
            "{{ htmlDateInZone (toDate \"2006-01-02T15:04:05Z07:00\" \"2024-03-10T23:30:00-05:00\") \"UTC\" }}",
            "{{ date \"15:04:05 MST -0700\" (toDate \"2006-01-02T15:04:05Z07:00\" \"2024-03-10T23:30:00-05:00\") }}",
            "{{ toDate \"2006-01-02\" \"2024-01-02\" | toJson }}|{{ dict \"t\" (toDate \"2006-01-02\" \"2024-01-02\") | toYaml }}",
            "{{ $t := toDate \"2006-01-02\" \"2024-01-02\" }}{{ kindOf $t }}|{{ typeOf $t }}|{{ if $t }}T{{ end }}|{{ empty $t }}",
            "{{ (now | date \"2006\") | len }}|{{ now | unixEpoch | len }}|{{ ago now }}|{{ ago (dateModify \"-2h\" now) }}|{{ kindOf now }}",
            "{{ toDate \"2006-01-02\" \"0001-01-01\" | unixEpoch }}|{{ toDate \"2006-01-02\" \"bad\" | date \"2006-01-02 15:04\" }}",
            "{{ date \"2006-01-02\" \"notatime\" | len }}|{{ date \"2006\" 1.5 | len }}",
        ]
        .iter()
        .map(|t| (t.to_string(), String::new())),
    );
    out
}

/// `toToml` (BurntSushi/toml's encoder) over values, tables, arrays of tables and errors.
pub fn toml_cases() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        "{{ .Values | toToml }}",
        "{{ .Values.m | toToml }}",
        "{{ dict \"a\" 1 \"b\" (list 1 2) \"c\" (dict \"d\" \"x\") | toToml }}",
        "{{ dict \"t\" (list (dict \"a\" 1) (dict \"b\" (dict \"c\" 2))) \"z\" true | toToml }}",
        "{{ dict \"a b\" \"q\\\"\\\\\\t\\n\" \"\" 1 \"é\" 2 \"x.y\" 3 | toToml }}",
        "{{ dict \"a\" (dict \"b\" (dict \"c\" (dict))) \"e\" (list) | toToml }}",
        "{{ dict \"n\" nil \"a\" 1 | toToml }}",
        "{{ list 1 2 | toToml }}|{{ toToml \"s\" }}|{{ toToml nil }}",
        "{{ dict \"l\" (list 1 nil) | toToml }}",
        "{{ dict \"f\" 1.5 \"g\" 1e21 \"h\" 0.0000001 \"i\" (float64 3) \"j\" (int64 -4) | toToml }}",
        "{{ dict \"mixed\" (list 1 \"a\" (list 2 3)) | toToml }}",
    ]
    .iter()
    .map(|t| (t.to_string(), VALUES[0].to_string()))
    .collect();
    out.push(("{{ .Values | toToml }}".to_string(), VALUES[1].to_string()));
    out.push((
        "{{ .Values | toToml }}".to_string(),
        YAML_VALUES.to_string(),
    ));
    // fromToml over documents given as values
    for doc in [
        "title = \"x\"\n[server]\nport = 9090\nhost = \"h\"",
        "a = 1\nb = 1.5\nc = true\nd = [1, 2, 3]\ne = \"é\\u00e9\"\nf = 'lit\\n'",
        "big = 9223372036854775807\nneg = -17\nhex = 0xff\noct = 0o17\nbin = 0b11\nu = 1_000",
        "f1 = 1e3\nf2 = -0.0\nf3 = 6.02e23\nf4 = 3.0\nf5 = 0.1",
        "[[p]]\nn = 1\n[[p]]\nn = 2\n[a.b.c]\nd = {x = 1, y = [\"s\"]}",
        "m = \"\"\"\nline1\nline2\"\"\"\nk.\"quoted key\" = 1",
        "",
    ] {
        out.push((
            "{{ $t := fromToml .Values.doc }}{{ toJson $t }}|{{ range $k, $v := $t }}{{ $k }}={{ $v }}:{{ kindOf $v }};{{ end }}"
                .to_string(),
            format!("doc: {}", serde_json::to_string(doc).unwrap()),
        ));
    }
    out.push((
        "{{ (fromToml \"a = \").Error | empty | not }}|{{ (fromToml \"a = 1\\na = 2\").Error | empty | not }}|{{ fromToml \"[x]\\ny = 1\" | toToml }}".to_string(),
        String::new(),
    ));
    out
}

/// YAML 1.1 documents as go-yaml v2 resolves them (values files and `fromYaml`).
pub const YAML11_DOCS: &[&str] = &[
    "a: 0755",
    "a: 0o17",
    "a: 0O17",
    "a: 0x1F",
    "a: 0X1f",
    "a: 1_000",
    "a: 0b101",
    "a: -0b11",
    "a: 09",
    "a: 08.5",
    "a: +12",
    "a: -0",
    "a: -0.0",
    "a: .5",
    "a: +.5",
    "a: 1.",
    "a: 1e3",
    "a: 1E3",
    "a: 1.5e-3",
    "a: 1e400",
    "a: -1e400",
    "a: 9223372036854775807",
    "a: 9223372036854775808",
    "a: 18446744073709551615",
    "a: 18446744073709551616",
    "a: -9223372036854775809",
    "a: 1:20",
    "a: 190:20:30",
    "a: 2019-01-01",
    "a: 2001-12-14t21:59:43.10-05:00",
    "a: y",
    "a: Y",
    "a: yes",
    "a: Yes",
    "a: YES",
    "a: n",
    "a: N",
    "a: no",
    "a: on",
    "a: On",
    "a: ON",
    "a: off",
    "a: OFF",
    "a: true",
    "a: True",
    "a: TRUE",
    "a: false",
    "a: tRue",
    "a: yEs",
    "a: ~",
    "a: null",
    "a: Null",
    "a: NULL",
    "a: nULL",
    "a: ''",
    "a:",
    "a: .inf",
    "a: -.inf",
    "a: .nan",
    "a: .NaN",
    "a: +.inf",
    "a: 0x",
    "a: 0b2",
    "a: 0o8",
    "a: 1__0",
    "a: _1",
    "a: 1_",
    "a: 0_1",
    "a: 0xdead_beef",
    "a: =",
    "a: '0755'",
    "a: \"yes\"",
    "a: 0.1e1_0",
    "a: 1e+03",
    "a: 6.8523015e+5",
    "a: 685.230_15e+03",
    "a: -.5",
    "a: +0x10",
    "a: -0x10",
    "a: 0.",
    "a: 00",
    "a: 007",
    "a: 1.0",
    "a: 3.0e0",
    "1: a\n1.5: b\ntrue: c\nyes: d\n0x10: e\n1e10: f\n'0x1': g\ny: h\n0.1: i\n1e-7: j",
    "-1: a\n0755: b\n+5: c\n.5: d\noff: e",
    "~: a",
    "? [a]\n: b",
    "? {a: b}\n: c",
    "18446744073709551615: a",
    "base: &b {x: 1, z: 2}\nc:\n  <<: *b\n  z: 3\nd: *b",
    "a: &a {x: 1}\nb: &b {x: 2, w: 1}\nc: {<<: [*a, *b]}",
    "a: &a {x: 1}\nc: {x: 0, <<: *a}",
    "a: &a 1\nb: {<<: *a}",
    "a: {<<: [1]}",
    "a: !!str 0755",
    "a: !!int '0x10'",
    "a: !!float 1",
    "a: !!binary aGk=",
    "a: !!int abc",
    "a: !!bool yes",
    "a: !!null ~",
    "a: !foo bar",
    "a: !!timestamp 2019-01-01",
    "a: !!str",
    "a: !!float .inf",
    "a: !!bool 1",
    "a: 1\n---\nb: 2",
    "---\na: 1\n...\n",
    "a: |\n  x\n  y\n",
    "a: >-\n  x\n  y\nb: |+\n  z\n\n",
    "a: 1\na: 2",
    "a: [1, 2.5, x, yes, ~]\nb: {c: {d: [[], {}]}}",
    "# only a comment",
    "null",
    "- 1",
    "x",
    "7",
    "true",
    "a: [",
    "a: b: c",
    "a:\n- b\n c",
    "a: 'x",
    "{a: 1",
    "- a\nb: c",
    "a: *x",
    "a: b\n\tc: d",
    "a: \"\\x\"",
    "a: [1,]",
    "a: {b}",
    "[a, b]: c",
];

/// Values files and `fromYaml`/`fromYamlArray` over [`YAML11_DOCS`].
pub fn yaml11_cases() -> Vec<(String, String)> {
    let mut out = vec![];
    for doc in YAML11_DOCS {
        out.push(("{{ toJson .Values }}".to_string(), doc.to_string()));
        let quoted = serde_json::to_string(doc).unwrap();
        out.push((
            "{{ fromYaml .Values.doc | toJson }}|{{ fromYamlArray .Values.doc | toJson }}"
                .to_string(),
            format!("doc: {quoted}"),
        ));
    }
    out
}
