//! Tag filters: `allow-tags` ([`AllowTags`]), `ignore-tags` ([`IgnoreTags`]) and Flux-style tag pattern and
//! extraction ([`Extract`]), each with the exact Go semantics of the tool its annotation comes from.
//!
//! argocd-image-updater compiles `allow-tags` with Go's `regexp` and matches `ignore-tags` with Go's
//! `path/filepath.Match`; Flux's image-reflector-controller filters with Go's `regexp` and `Regexp.Expand`. Those
//! ports live in [`crate::gocompat`] ([`GoRegex`], [`Glob`], [`Template`]); this module adds what the tools do with
//! them: the annotation syntax, the list splitting, and refusing a template that names a group its pattern lacks.

use crate::gocompat::expand::{Template, unknown_reference};
use crate::gocompat::glob::{Glob, GlobError};
use crate::gocompat::regexp::{GoRegex, RegexError};

/// Why a filter pattern or annotation value was rejected. The caller adds the annotation key.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    #[error(transparent)]
    Regex(#[from] RegexError),
    #[error(transparent)]
    Glob(#[from] GlobError),
    #[error(
        "invalid allow-tags value '{value}': expected 'any' or 'regexp:<expression>' \
         (argocd-image-updater would silently allow no tag)"
    )]
    AllowTags { value: String },
    #[error(
        "extract template '{}' refers to group '{}', which tag pattern '{}' does not have ({}){}",
        .0.template, .0.group, .0.pattern, .0.groups, .0.hint
    )]
    UnknownGroup(Box<UnknownGroup>),
}

/// An extract template's reference to a group its pattern lacks (boxed in [`FilterError`] to keep it small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGroup {
    pub template: String,
    pub group: String,
    pub pattern: String,
    /// The groups the pattern has, as references: `its groups: $1, $2 ($ts)`.
    pub groups: String,
    /// How to write what was probably meant, after `; `, or nothing.
    pub hint: String,
}

/// An `allow-tags` value: which tags may be considered at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowTags {
    Any,
    Regexp(GoRegex),
}

impl AllowTags {
    /// Parses `any` or `regexp:<expression>`, case-insensitively in the keyword, as argocd-image-updater does.
    ///
    /// argocd-image-updater logs a warning for any other value (and for an expression that does not compile) and
    /// then allows no tag at all, which silently stops updates; here both are errors.
    pub fn parse(value: &str) -> Result<AllowTags, FilterError> {
        if value.to_lowercase() == "any" {
            return Ok(AllowTags::Any);
        }
        match value.split_once(':') {
            Some((kind, expression)) if kind.to_lowercase() == "regexp" => {
                Ok(AllowTags::Regexp(GoRegex::new(expression)?))
            }
            _ => Err(FilterError::AllowTags {
                value: value.to_string(),
            }),
        }
    }

    pub fn allows(&self, tag: &str) -> bool {
        match self {
            AllowTags::Any => true,
            AllowTags::Regexp(regex) => regex.is_match(tag),
        }
    }
}

/// An `ignore-tags` value: globs, any of which excludes a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreTags {
    globs: Vec<Glob>,
}

impl IgnoreTags {
    /// Parses a comma-separated list, trimming spaces and skipping empty entries as argocd-image-updater does.
    pub fn parse(value: &str) -> Result<IgnoreTags, FilterError> {
        let globs = value
            .trim()
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(Glob::parse);
        Ok(IgnoreTags {
            globs: globs.collect::<Result<_, _>>()?,
        })
    }

    /// Ignores nothing.
    pub fn none() -> IgnoreTags {
        IgnoreTags::default()
    }

    /// The first glob that matches `tag`, if any: the one to name when explaining why a tag was dropped.
    pub fn matching(&self, tag: &str) -> Option<&Glob> {
        self.globs.iter().find(|glob| glob.matches(tag))
    }

    pub fn globs(&self) -> &[Glob] {
        &self.globs
    }
}

/// Flux's `filterTags`: a tag is a candidate when `pattern` matches it, and strategies order candidates by the
/// extracted text (or the whole tag when `extract` is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extract {
    regex: GoRegex,
    template: Template,
}

impl Extract {
    /// Compiles `pattern` (Go syntax) and parses `extract` by Go's `Regexp.Expand` rules (a [`Template`]): `$name`,
    /// `${name}`, `$1`, `${1}`; `$$` is a `$`; the longest run of letters, digits and `_` is the name, so `$1x` means
    /// the group named `1x` (write `${1}x`); a number with a leading zero is a name; an unknown group expands to
    /// nothing; a `$` not followed by a valid reference stays as it is.
    ///
    /// ```
    /// use argocd_image_resolver_core::policy::filter::Extract;
    ///
    /// let extract = Extract::new(r"^main-[a-f0-9]+-(?P<ts>\d+)$", "$ts").unwrap();
    /// assert_eq!(extract.apply("main-3f2a1b0-1700000000").as_deref(), Some("1700000000"));
    /// assert_eq!(extract.apply("v1.2.3"), None);
    /// ```
    pub fn new(pattern: &str, extract: &str) -> Result<Extract, FilterError> {
        let regex = GoRegex::new(pattern)?;
        let template = Template::parse(extract, regex.subexp_names());
        Ok(Extract { regex, template })
    }

    /// [`Extract::new`] for a template someone wrote: a reference to a group the pattern lacks is refused. Go
    /// expands it to nothing, so every tag would order by the same text (`$nope`, or `$1x` meant as `${1}x`): never
    /// what was meant, and otherwise reported only as "not versions".
    ///
    /// ```
    /// use argocd_image_resolver_core::policy::filter::Extract;
    ///
    /// assert!(Extract::checked(r"^(?P<ts>\d+)$", "$ts").is_ok());
    /// assert!(Extract::checked(r"^(\d+)$", "$nope").is_err());
    /// ```
    pub fn checked(pattern: &str, extract: &str) -> Result<Extract, FilterError> {
        let checked = Extract::new(pattern, extract)?;
        let names = checked.regex.subexp_names();
        let Some(group) = unknown_reference(extract, names) else {
            return Ok(checked);
        };
        let groups: Vec<String> = (1..names.len())
            .map(|i| match &names[i] {
                Some(name) => format!("${i} (${name})"),
                None => format!("${i}"),
            })
            .collect();
        let digits = group.bytes().take_while(u8::is_ascii_digit).count();
        let hint = if digits > 0 && digits < group.len() {
            format!(
                "; to follow group {} with text, write '${{{}}}{}'",
                &group[..digits],
                &group[..digits],
                &group[digits..]
            )
        } else {
            String::new()
        };
        Err(FilterError::UnknownGroup(Box::new(UnknownGroup {
            template: extract.to_string(),
            group: group.to_string(),
            pattern: pattern.to_string(),
            groups: if groups.is_empty() {
                "it has no groups".to_string()
            } else {
                format!("its groups: {}", groups.join(", "))
            },
            hint,
        })))
    }

    /// The text to order `tag` by, or `None` when the pattern does not match it. Expansion uses the first match.
    pub fn apply(&self, tag: &str) -> Option<String> {
        if self.template.as_str().is_empty() {
            return self.regex.is_match(tag).then(|| tag.to_string());
        }
        if self.template.is_constant() {
            return self
                .regex
                .is_match(tag)
                .then(|| self.template.expand(|_| None));
        }
        let captures = self.regex.captures(tag)?;
        Some(
            self.template
                .expand(|index| captures.get(index).map(|group| group.as_str())),
        )
    }

    pub fn pattern(&self) -> &GoRegex {
        &self.regex
    }

    pub fn extract(&self) -> &str {
        self.template.as_str()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_allow_tags() {
        let cases = [
            ("any", "any", "", true),
            ("any upper case", "ANY", "", true),
            ("regexp", "regexp:^v1\\.", "v1.2", true),
            ("regexp rejects", "regexp:^v1\\.", "v2.0", false),
            ("keyword case-insensitive", "RegExp:^v1", "v1", true),
            ("expression keeps its colons", "regexp:^a:b$", "a:b", true),
            ("empty expression allows all", "regexp:", "anything", true),
            ("Go semantics apply", "regexp:^\\d+$", "١٢", false),
        ];
        for (name, value, tag, want) in cases {
            let allow = AllowTags::parse(value).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(allow.allows(tag), want, "{name}");
        }
        assert_eq!(
            AllowTags::parse("any"),
            Ok(AllowTags::Any),
            "any parses to Any"
        );
    }

    #[test]
    fn rejects_allow_tags() {
        let hint = "expected 'any' or 'regexp:<expression>' (argocd-image-updater would silently allow no tag)";
        let cases = [
            (
                "unknown function",
                "glob:v*",
                format!("invalid allow-tags value 'glob:v*': {hint}"),
            ),
            (
                "no colon",
                "regexp",
                format!("invalid allow-tags value 'regexp': {hint}"),
            ),
            ("empty", "", format!("invalid allow-tags value '': {hint}")),
            (
                "padded any",
                " any",
                format!("invalid allow-tags value ' any': {hint}"),
            ),
            (
                "bad expression",
                "regexp:v[0-9",
                "invalid regular expression 'v[0-9': missing closing ]".to_string(),
            ),
        ];
        for (name, value, want) in cases {
            match AllowTags::parse(value) {
                Ok(allow) => panic!("{name}: parsed as {allow:?}"),
                Err(e) => assert_eq!(e.to_string(), want, "{name}"),
            }
        }
    }

    #[test]
    fn parses_ignore_tags() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "list with spaces and empties",
                " latest, dev ,, *-rc* ",
                &["latest", "dev", "*-rc*"],
            ),
            ("single", "latest", &["latest"]),
            ("empty", "", &[]),
            ("only commas", " , ,", &[]),
        ];
        for &(name, value, want) in cases {
            let ignore = IgnoreTags::parse(value).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<&str> = ignore.globs().iter().map(Glob::as_str).collect();
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(
            IgnoreTags::parse("latest, v[").unwrap_err().to_string(),
            "invalid glob 'v[': missing closing ]",
            "bad glob in the list"
        );
        assert_eq!(
            IgnoreTags::none(),
            IgnoreTags::parse("").unwrap(),
            "none is the empty list"
        );
    }

    #[test]
    fn names_the_matching_glob() {
        let ignore = IgnoreTags::parse("latest, *-rc*, v1.*").unwrap();
        let cases = [
            ("exact", "latest", Some("latest")),
            ("first of two matching", "v1.0-rc1", Some("*-rc*")),
            ("second glob", "v1.2", Some("v1.*")),
            ("none", "v2.0", None),
        ];
        for (name, tag, want) in cases {
            assert_eq!(ignore.matching(tag).map(Glob::as_str), want, "{name}");
        }
        assert_eq!(
            IgnoreTags::none().matching("latest"),
            None,
            "none ignores nothing"
        );
    }

    /// Go `Regexp.Expand` rules, plus Flux's filter_test.go cases.
    #[test]
    fn extracts_like_go_expand() {
        let cases = [
            ("flux: no pattern keeps the tag", "", "", "a", Some("a")),
            ("flux: pattern filters", "^ver", "", "ver1", Some("ver1")),
            ("flux: pattern rejects", "^ver", "", "rel1", None),
            ("flux: capture group", r"ver(\d+)", "$1", "ver3", Some("3")),
            ("braced number", r"(\d+)", "${1}", "v12", Some("12")),
            ("first match is used", r"(\d+)", "$1", "a12b34", Some("12")),
            (
                "named group",
                r"(?P<ts>\d+)$",
                "$ts",
                "main-abc-1700000000",
                Some("1700000000"),
            ),
            (
                "braced name with suffix",
                r"(?P<major>\d+)\.(?P<minor>\d+)",
                "${major}x${minor}",
                "1.2",
                Some("1x2"),
            ),
            (
                "longest name: $1x is group '1x'",
                r"(\d)",
                "$1x",
                "7",
                Some(""),
            ),
            ("braces end a name", r"(\d)", "${1}x", "7", Some("7x")),
            ("dollar dollar", r"(\d)", "$$1", "7", Some("$1")),
            ("dollar at end", r"(\d)", "$1$", "7", Some("7$")),
            (
                "dollar before punctuation",
                r"(\d)",
                "$-$1",
                "7",
                Some("$-7"),
            ),
            ("unclosed brace", r"(\d)", "${1", "7", Some("${1")),
            ("empty braces", r"(\d)", "${}", "7", Some("${}")),
            ("group 0 is the match", r"\d+", "<$0>", "v42", Some("<42>")),
            ("leading zero is a name", r"(\d)", "$01", "7", Some("")),
            ("missing group number", r"(\d)", "[$2]", "7", Some("[]")),
            ("unknown name", r"(\d)", "[$name]", "7", Some("[]")),
            ("non-participating group", r"(a)?b", "[$1]", "b", Some("[]")),
            ("Unicode digits end no name", r"(\d)", "$1١", "7", Some("")),
            ("letters after a digit", r"(\d)", "$1é.", "7", Some(".")),
            ("dot ends a name", r"(\d)", "$1.0", "7", Some("7.0")),
            (
                "duplicate names take the one that matched",
                r"(?P<v>a)|(?P<v>b)",
                "$v",
                "b",
                Some("b"),
            ),
            (
                "group named with a leading digit",
                r"(?P<1a>x)",
                "$1a",
                "x",
                Some("x"),
            ),
            ("literal-only template", r"^v", "fixed", "v1", Some("fixed")),
            (
                "literal-only template needs a match",
                r"^v",
                "fixed",
                "x1",
                None,
            ),
            ("expansion may be empty", r"^v", "$9", "v1", Some("")),
            ("ungreedy flag", r"(?U)(a+)", "$1", "aaa", Some("a")),
        ];
        for (name, pattern, template, tag, want) in cases {
            let extract = Extract::new(pattern, template).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(extract.apply(tag).as_deref(), want, "{name}");
        }
        let extract = Extract::new(r"(\d+)", "$1").unwrap();
        assert_eq!(
            (extract.pattern().as_str(), extract.extract()),
            (r"(\d+)", "$1"),
            "accessors"
        );
        assert_eq!(
            Extract::new("(", "$1").unwrap_err().to_string(),
            "invalid regular expression '(': missing closing )",
            "bad pattern"
        );
    }

    #[test]
    fn checked_templates_refer_to_groups_the_pattern_has() {
        let ok = [
            ("number", r"(\d+)", "$1"),
            ("braced number", r"(\d+)", "${1}x"),
            ("name", r"(?P<ts>\d+)", "$ts"),
            ("whole match", r"\d+", "$0"),
            ("dollar", r"\d+", "$$1"),
            ("lone dollar", r"\d+", "a$"),
            ("no template", r"\d+", ""),
        ];
        for (name, pattern, template) in ok {
            assert!(Extract::checked(pattern, template).is_ok(), "{name}");
        }
        let refused = [
            (
                "regression: an unknown name was reported as 'N not versions'",
                r"^(\d+)\.(\d+)$",
                "$nope",
                "extract template '$nope' refers to group 'nope', which tag pattern '^(\\d+)\\.(\\d+)$' does not have \
                 (its groups: $1, $2)",
            ),
            (
                "number past the last group",
                r"^(?P<v>\d+)",
                "$2",
                "extract template '$2' refers to group '2', which tag pattern '^(?P<v>\\d+)' does not have (its \
                 groups: $1 ($v))",
            ),
            (
                "text after a number",
                r"^(\d+)",
                "$1x",
                "extract template '$1x' refers to group '1x', which tag pattern '^(\\d+)' does not have (its \
                 groups: $1); to follow group 1 with text, write '${1}x'",
            ),
            (
                "no groups",
                r"^v",
                "${1}",
                "extract template '${1}' refers to group '1', which tag pattern '^v' does not have (it has no \
                 groups)",
            ),
        ];
        for (name, pattern, template, want) in refused {
            assert_eq!(
                Extract::checked(pattern, template).unwrap_err().to_string(),
                want,
                "{name}"
            );
        }
    }

    /// Characters that steer the translator, for patterns dense in special cases.
    fn regex_syntax() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = r"\()[]{}*+?|^$.-:,<>=!PpQEdDwWsSbBxzAC0123aé٣^&~_ "
            .chars()
            .collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..24)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn regex_never_panics(pattern in regex_syntax(), haystack in "\\PC{0,12}") {
            if let Ok(re) = GoRegex::new(&pattern) {
                let _ = re.is_match(&haystack);
            }
            if let Ok(extract) = Extract::new(&pattern, "$1${a}$$x$") {
                let _ = extract.apply(&haystack);
            }
        }

        #[test]
        fn regex_never_panics_on_any_text(pattern in "\\PC{0,24}", template in "\\PC{0,12}") {
            if let Ok(extract) = Extract::new(&pattern, &template) {
                let _ = extract.apply(&pattern);
            }
        }

        #[test]
        fn glob_never_panics_on_any_text(pattern in "\\PC{0,20}", name in "\\PC{0,20}") {
            if let Ok(glob) = Glob::parse(&pattern) {
                let _ = glob.matches(&name);
            }
            let _ = IgnoreTags::parse(&pattern);
            let _ = AllowTags::parse(&pattern);
        }
    }
}
