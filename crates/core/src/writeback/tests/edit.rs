//! Which new scalars may be written plain: only those every reader (go-yaml v2 for Helm, v3 for kustomize, and
//! YAML 1.1 readers) takes back as the same string.

use crate::writeback::edit::plain_reads_back;

#[test]
fn plain_only_when_every_reader_reads_a_string() {
    for (name, value, want) in [
        ("version", "1.2.3", true),
        ("v-prefixed", "v1.2", true),
        ("branch and sha", "main-4f2a", true),
        ("short sha with a leading zero", "0a1b2c3", true),
        ("base prefix with no digits", "0x", true),
        ("hex prefix with a non-hex digit", "0X1G", true),
        ("inf without the dot", "inf", true),
        ("nan without the dot", "NaN", true),
        ("e with a non-digit exponent", "1e5a", true),
        ("decimal", "123", false),
        ("leading-zero octal", "017", false),
        ("underscored decimal", "1_000", false),
        ("hex", "0x1f", false),
        // Bug: Go's ParseInt(s, 0, 64), behind go-yaml v2 and v3, takes upper-case base prefixes too.
        ("hex, upper-case prefix", "0X1F", false),
        ("octal, upper-case prefix", "0O17", false),
        ("binary, upper-case prefix and underscore", "0B1_0", false),
        ("octal", "0o17", false),
        ("binary with underscore", "0b1_0", false),
        ("signed hex, upper-case prefix", "+0X1F", false),
        ("signed binary, upper-case prefix", "-0B1", false),
        ("underscore after the prefix", "0x_1f", false),
        ("float", "1.20", false),
        ("trailing dot", "1.", false),
        ("leading dot", ".5", false),
        ("exponent", "1e5", false),
        ("signed upper-case exponent", "1E+5", false),
        ("sexagesimal int", "1:20", false),
        ("sexagesimal float", "190:20:30.15", false),
        ("inf", ".inf", false),
        ("signed inf", "+.INF", false),
        ("negative inf", "-.Inf", false),
        ("nan", ".NaN", false),
        ("tilde", "~", false),
        ("null", "null", false),
        ("null, upper case", "NULL", false),
        ("empty", "", false),
        ("y", "y", false),
        ("Y", "Y", false),
        ("n", "n", false),
        ("yes", "Yes", false),
        ("no", "NO", false),
        ("on", "on", false),
        ("off", "Off", false),
        ("true", "true", false),
        ("false", "FALSE", false),
        ("merge key", "<<", false),
        ("YAML 1.1 value key", "=", false),
        ("date", "2024-05-01", false),
        ("date with one-digit month and day", "2024-1-2", false),
    ] {
        assert_eq!(plain_reads_back(value, false), want, "{name}: {value}");
    }
}
