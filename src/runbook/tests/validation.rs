//! Every rejection: the diagnostic's position, message and help.

use super::Fixture;

#[test]
fn an_unknown_step_key_points_at_it_with_a_suggestion() {
    let f = Fixture::new(
        "[[steps]]\nkind = \"log\"\nmessage = \"a\"\n\n[[steps]]\nkind = \"log\"\nmessage = \"b\"\n\n\
         [[steps]]\nkind = \"run\"\nname = \"deploy staging\"\ncmd = \"true\"\ntiemout = \"5m\"\n",
    );
    let d = f.error();
    assert_eq!((d.line, d.col, d.width), (13, 1, 7));
    assert_eq!(
        d.message,
        "unknown key `tiemout` in [[steps]] #3 (\"deploy staging\")"
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `timeout`?"));
    assert_eq!(d.source_line.as_deref(), Some("tiemout = \"5m\""));
}

#[test]
fn a_field_of_another_kind_says_whose_it_is() {
    let d = Fixture::new("[[steps]]\nkind = \"run\"\ncmd = \"true\"\nduration = \"5m\"\n").error();
    assert_eq!(d.message, "unknown key `duration` in [[steps]] #1");
    assert_eq!(
        d.help.as_deref(),
        Some("`duration` is a field of soak/bake steps")
    );
}

#[test]
fn unknown_and_missing_kinds() {
    let d = Fixture::new("[[steps]]\nkind = \"smok\"\ncmd = \"x\"\n").error();
    assert_eq!((d.line, d.col), (2, 8));
    // The list grows with every kind; `kinds::known_list` is tested where it is built.
    assert_eq!(
        d.message,
        format!(
            "unknown step kind `smok`; this build knows {}",
            crate::runbook::kinds::known_list()
        )
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `smoke`?"));

    let d = Fixture::new("\n[[rollback]]\nname = \"undo\"\n").error();
    assert_eq!((d.line, d.col), (2, 1));
    assert_eq!(
        d.message,
        "[[rollback]] #1 (\"undo\") has no `kind`: add e.g. kind = \"run\""
    );
}

#[test]
fn toml_syntax_errors_have_a_position() {
    let d = Fixture::new("description = \"x\"\n[[steps]]\nkind = run\n").error();
    assert_eq!((d.line, d.col), (3, 8));
    assert!(d.message.starts_with("invalid TOML: "), "{}", d.message);
}

#[test]
fn a_section_written_as_a_single_table_asks_for_double_brackets() {
    let d = Fixture::new("[steps]\nkind = \"log\"\nmessage = \"x\"\n").error();
    assert_eq!((d.line, d.col), (1, 1));
    assert!(
        d.message.contains("[[steps]] (double brackets)"),
        "{}",
        d.message
    );
}

#[test]
fn top_level_mistakes_are_reported_all_at_once() {
    let d = Fixture::new(
        "descripton = \"x\"\nadapter = \"flyio\"\nauto_rollback = \"yes\"\nlog = \"x\"\n[vars]\nn = 1\n",
    )
    .errors();
    let messages: Vec<(usize, &str)> = d.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        messages,
        vec![
            (1, "unknown key `descripton` in the top level"),
            (
                2,
                "unknown adapter `flyio`; use one of fly, kubectl, systemctl, compose, exec"
            ),
            (
                3,
                "`auto_rollback` in the top level must be true or false, not a string"
            ),
            (4, "unknown key `log` in the top level"),
            (6, "[vars] values must be strings, and `n` is an integer"),
        ]
    );
    assert_eq!(d[0].help.as_deref(), Some("did you mean `description`?"));
    assert_eq!(d[1].help.as_deref(), Some("did you mean `fly`?"));
    assert_eq!(
        d[3].help.as_deref(),
        Some("`log` is a project setting: put it in rollout.toml")
    );
}

#[test]
fn command_mistakes_are_diagnostics() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "cmd = \"echo 'oops\"",
            (3, 7),
            "`cmd` has an unbalanced quote",
        ),
        ("cmd = \"  \"", (3, 7), "`cmd` in [[steps]] #1 is empty"),
        ("cmd = []", (3, 7), "`cmd` in [[steps]] #1 is empty"),
        (
            "cmd = [\"a\", 1]",
            (3, 13),
            "`cmd` items must be strings, not an integer",
        ),
        (
            "cmd = \"x\"\nexpect_output = \"(\"",
            (4, 17),
            "`expect_output` is not a valid regex",
        ),
        (
            "cmd = \"x\"\nexpect_exit = []",
            (4, 15),
            "`expect_exit` is empty",
        ),
        (
            "cmd = \"x\"\nexpect_exit = 300",
            (4, 15),
            "exit codes are 0 to 255",
        ),
        (
            "cmd = \"x\"\nexpect_exit = \"0\"",
            (4, 15),
            "`expect_exit` must be an exit code",
        ),
        ("cmd = \"x {{\"", (3, 10), "`{{` is never closed"),
        (
            "shell = \"yes\"\ncmd = \"x\"",
            (3, 9),
            "`shell` in [[steps]] #1 must be true or false",
        ),
        (
            "cmd = \"x\"\nenv = { A = 1 }",
            (4, 13),
            "`A` in `env` of [[steps]] #1 must be a string",
        ),
        ("name = \"x\"", (1, 1), "[[steps]] #1 (\"x\") has no `cmd`"),
    ];
    for (fields, (line, col), message) in cases {
        let d = Fixture::new(&format!("[[steps]]\nkind = \"run\"\n{fields}\n")).error();
        assert_eq!((d.line, d.col), (*line, *col), "{fields}: {d}");
        assert!(d.message.starts_with(message), "{fields}: {}", d.message);
    }
}

#[test]
fn wrong_common_fields_are_diagnostics() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        ("retries = -1", (4, 11), "`retries` must be 0 or more"),
        (
            "retries = 1.5",
            (4, 11),
            "`retries` in [[steps]] #1 must be an integer, not a float",
        ),
        (
            "timeout = \"0s\"",
            (4, 11),
            "`timeout` must be more than zero",
        ),
        (
            "timeout = \"soon\"",
            (4, 11),
            "`timeout` must be a duration like",
        ),
        (
            "timeout = 30",
            (4, 11),
            "`timeout` in [[steps]] #1 must be a duration string",
        ),
        (
            "retry_delay = \"-1s\"",
            (4, 15),
            "`retry_delay` must be a duration like",
        ),
        (
            "adapter = \"kubectll\"",
            (4, 11),
            "unknown adapter `kubectll`",
        ),
        (
            "confirm = \"yes\"",
            (4, 11),
            "`confirm` in [[steps]] #1 must be true or false",
        ),
        (
            "name = \"\"",
            (4, 8),
            "`name` must be a visible, one-line name",
        ),
    ];
    for (field, (line, col), message) in cases {
        let d = Fixture::new(&format!(
            "[[steps]]\nkind = \"log\"\nmessage = \"m\"\n{field}\n"
        ))
        .error();
        assert_eq!((d.line, d.col), (*line, *col), "{field}: {d}");
        assert!(d.message.starts_with(message), "{field}: {}", d.message);
    }
}

#[test]
fn soak_needs_a_positive_duration_and_log_a_message() {
    let d = Fixture::new("[[steps]]\nkind = \"soak\"\nduration = \"0s\"\n").error();
    assert_eq!((d.line, d.col), (3, 12));
    assert_eq!(d.message, "`duration` must be more than zero");
    let d = Fixture::new("[[steps]]\nkind = \"soak\"\n").error();
    assert_eq!(
        d.message,
        "[[steps]] #1 has no `duration`: add e.g. duration = \"30m\""
    );
    let d = Fixture::new("[[steps]]\nkind = \"log\"\n").error();
    assert!(
        d.message.starts_with("[[steps]] #1 has no `message`"),
        "{}",
        d.message
    );
}

#[test]
fn a_secret_cannot_be_part_of_cwd() {
    let d = Fixture::new("[[steps]]\nkind = \"run\"\ncmd = \"ls\"\ncwd = \"{{secret.DIR}}\"\n")
        .env("DIR", "hidden")
        .error();
    assert_eq!((d.line, d.col), (4, 7));
    assert_eq!(d.message, "`cwd` cannot contain a secret");
}

#[test]
fn adapter_written_as_a_table_points_to_adapters() {
    let d = Fixture::new("[adapter.fly]\nbin = \"fly\"\n").error();
    assert_eq!(d.line, 1);
    assert!(
        d.message
            .starts_with("`adapter` in the top level must be an adapter name"),
        "{}",
        d.message
    );
    assert_eq!(
        d.help.as_deref(),
        Some("adapter settings go under [adapters.NAME]")
    );
}

#[test]
fn every_problem_in_a_file_is_reported_in_file_order() {
    let d = Fixture::new(
        "[[preflight]]\nkind = \"run\"\ncmd = \"x\"\nretries = -2\n\
         [[steps]]\nkind = \"depoy\"\n[[steps]]\nkind = \"soak\"\nduration = \"never\"\n",
    )
    .errors();
    let at: Vec<(usize, usize)> = d.iter().map(|d| (d.line, d.col)).collect();
    assert_eq!(at, vec![(4, 11), (6, 8), (9, 12)]);
}

#[test]
fn a_soak_cannot_time_out_before_it_ends() {
    let d =
        Fixture::new("[[steps]]\nkind = \"soak\"\nduration = \"30m\"\ntimeout = \"10m\"\n").error();
    assert_eq!((d.line, d.col), (4, 11));
    assert_eq!(
        d.message,
        "`timeout` (10m) is shorter than the soak's `duration` (30m): the step could never pass"
    );
}

#[test]
fn a_duplicate_name_is_found_even_when_the_first_step_is_wrong() {
    let d = Fixture::new(
        "[[steps]]\nkind = \"deploy\"\nname = \"ship\"\n[[steps]]\nkind = \"pause\"\nname = \"ship\"\n",
    )
    .errors();
    assert_eq!(d.len(), 2);
    assert_eq!((d[1].line, d[1].col), (6, 8));
    assert!(d[1].message.starts_with("duplicate step name `ship`"));
}

#[test]
fn a_variable_reference_is_underlined_whole() {
    let d = Fixture::new("[[steps]]\nkind = \"log\"\nmessage = \"x {{ nope }}\"\n").error();
    assert_eq!((d.line, d.col, d.width), (3, 14, 10));
}

#[test]
fn env_and_header_names_and_values_are_checked_where_they_stand() {
    let d = Fixture::new(
        "[[steps]]\nkind = \"run\"\ncmd = \"true\"\nenv = { \"A=B\" = \"x\" }\n\
         [[steps]]\nkind = \"health\"\nurl = \"http://127.0.0.1/\"\n\
         headers = { \"bad name\" = \"x\", Ok = \"a\\nb\" }\n",
    )
    .errors();
    let messages: Vec<(usize, &str)> = d.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        messages,
        vec![
            (4, "`A=B` is not a valid environment variable name"),
            (8, "`bad name` is not a valid HTTP header name"),
            (8, "a header value cannot span lines"),
        ]
    );
}
