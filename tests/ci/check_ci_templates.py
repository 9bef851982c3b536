#!/usr/bin/python3
"""Checks the CI templates for model repositories (ci/templates/) as far as this machine allows.

Usage: check_ci_templates.py <source root> <directory of the built ckpt-harness>

- Both parse as YAML and have the structure their CI system needs: N shard jobs (a matrix
  or `parallel`), a merge job that runs even when a shard failed, JUnit published from the
  merged report, the HTML report kept, artifacts uploaded on failure too.
- Their shell steps are the ones that work: the shard and merge scripts are taken out of
  each template and run here with bash, on this repository's default config, with the
  variables the CI system would set; the merged results must hold every unit of an unsplit
  run with the same outcomes, and junit.xml must be valid.
- Their schema step works: with the newest dcgan's manifest as the baseline it passes, with
  an older release's it fails (exit 1) and says why.
- ci/install-harness.sh, which both call, is valid bash.
Installing packages and cloning the harness are what this machine cannot do here.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def step(steps, name):
    for s in steps:
        if s.get("name") == name:
            return s
    fail("no step named %r" % name)


def bash(script, env, cwd):
    full_env = dict(os.environ, **env)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=full_env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def outcomes(results_file):
    with open(results_file) as f:
        results = json.load(f)
    return sorted((u["id"], c["scenario"], c["component"], c["outcome"]) for u in results["units"] for c in u["cases"])


def run_shards(name, shard_script, merge_script, shard_env, shards, root, path, unsplit):
    work = tempfile.mkdtemp(prefix="ckpt-ci-%s." % name)
    try:
        base = {"PATH": path, "CKPT_CONFIG": os.path.join(root, "ckpt-harness.toml")}
        for k in range(1, shards + 1):
            r = bash(shard_script, dict(base, **shard_env(k)), work)
            check(r.returncode == 0, "%s: shard %d/%d exited %d:\n%s" % (name, k, shards, r.returncode, r.stdout))
        r = bash(merge_script, base, work)
        check(r.returncode == 0, "%s: merge exited %d:\n%s" % (name, r.returncode, r.stdout))
        merged = os.path.join(work, "ckpt-report", "merged")
        for f in ("results.json", "junit.xml", "report.html"):
            check(os.path.exists(os.path.join(merged, f)), "%s: the merge wrote no %s" % (name, f))
        check(outcomes(os.path.join(merged, "results.json")) == unsplit,
              "%s: the merged shards differ from the unsplit run" % name)
        x = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(root, "tests", "junit_xsd", "junit-ant-windyroad.xsd"),
                            os.path.join(merged, "junit.xml")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        check(x.returncode == 0, "%s: merged junit.xml is not valid:\n%s" % (name, x.stdout))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_schema_step(name, script, root, path):
    schemas = os.path.join(root, "fixtures", "schemas")
    for baseline, expected in (("dcgan-3.0.0.json", 0), ("dcgan-2.0.0.json", 1)):
        work = tempfile.mkdtemp(prefix="ckpt-ci-schema.")
        try:
            env = {"PATH": path, "CKPT_CONFIG": os.path.join(root, "ckpt-harness.toml"), "CKPT_MODEL": "dcgan",
                   "CKPT_SCHEMA_BASELINE": os.path.join(schemas, baseline)}
            r = bash(script, env, work)
            check(r.returncode == expected, "%s: the schema step against %s exited %d, expected %d:\n%s"
                  % (name, baseline, r.returncode, expected, r.stdout))
            check(os.path.exists(os.path.join(work, "ckpt-report", "schema.json")), name + ": the schema step wrote no schema.json")
            if expected:
                check("do NOT load strictly" in r.stdout, name + ": the failing schema step does not say why:\n" + r.stdout)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def main():
    root, harness_dir = sys.argv[1], sys.argv[2]
    path = harness_dir + os.pathsep + os.environ.get("PATH", "")
    with open(os.path.join(root, "ci", "templates", "github-actions.yml")) as f:
        gh = yaml.safe_load(f)
    with open(os.path.join(root, "ci", "templates", "gitlab-ci.yml")) as f:
        gl = yaml.safe_load(f)

    # --- GitHub Actions ---
    shards = int(gh["env"]["SHARDS"])
    check(gh["jobs"]["check"]["strategy"]["matrix"]["shard"] == list(range(1, shards + 1)),
          "github: matrix.shard must be 1..SHARDS")
    check(gh["jobs"]["check"]["strategy"].get("fail-fast") is False, "github: fail-fast must be off (every shard reports)")
    check(gh["jobs"]["report"]["needs"] == "check" and gh["jobs"]["report"]["if"] == "always()",
          "github: the report job must need the shards and run even when one failed")
    check_steps = gh["jobs"]["check"]["steps"]
    report_steps = gh["jobs"]["report"]["steps"]
    upload = [s for s in check_steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    check(upload and upload[0].get("if") == "always()", "github: shard results must be uploaded even on failure")
    junit = [s for s in report_steps if str(s.get("uses", "")).startswith("mikepenz/action-junit-report")]
    check(junit and junit[0]["with"]["report_paths"] == "ckpt-report/merged/junit.xml", "github: JUnit must come from the merge")
    html = [s for s in report_steps if s.get("with", {}).get("path") == "ckpt-report/merged/"]
    check(html, "github: the merged report directory (report.html) must be kept as an artifact")
    gh_shard = step(check_steps, "Check checkpoints (shard)")["run"]
    gh_schema = step(gh["jobs"]["schema"]["steps"], "Checkpoint schema against the last release")["run"]
    check(gh["env"]["CKPT_SCHEMA_BASELINE"] and gh["env"]["CKPT_MODEL"], "github: the schema job needs its baseline and model")
    gh_merge = step(report_steps, "Merge shards")["run"]

    # --- GitLab CI ---
    job, report = gl["checkpoints"], gl["checkpoint-report"]
    gl_shards = int(job["parallel"])
    check(job["artifacts"]["when"] == "always", "gitlab: shard results must be kept even on failure")
    check(report["when"] == "always" and report["needs"] == ["checkpoints"], "gitlab: the merge must run after every shard")
    check(report["artifacts"]["reports"]["junit"] == "ckpt-report/merged/junit.xml", "gitlab: JUnit must come from the merge")
    check("ckpt-report/merged/" in report["artifacts"]["paths"], "gitlab: the merged report must be kept")
    gl_shard = job["script"][-1]
    gl_schema = gl["checkpoint-schema"]["script"][-1]
    check(gl["checkpoint-schema"]["artifacts"]["when"] == "always", "gitlab: the schema must be kept even when it changed")
    gl_merge = report["script"][-1]
    for name, text in (("github", gh_shard + gh_merge), ("gitlab", gl_shard + gl_merge)):
        check("ckpt-harness run" in text and "--shard" in text and "ckpt-harness merge" in text,
              name + ": the shard and merge steps must run ckpt-harness run --shard and ckpt-harness merge")

    r = subprocess.run(["bash", "-n", os.path.join(root, "ci", "install-harness.sh")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    check(r.returncode == 0, "ci/install-harness.sh is not valid bash:\n" + r.stdout)

    # --- the steps themselves, on the default config ---
    work = tempfile.mkdtemp(prefix="ckpt-ci-unsplit.")
    try:
        r = subprocess.run([os.path.join(harness_dir, "ckpt-harness"), "run", "--config", os.path.join(root, "ckpt-harness.toml"),
                            "--report-dir", work], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        check(r.returncode == 0, "the unsplit default run exited %d:\n%s" % (r.returncode, r.stdout[-3000:]))
        unsplit = outcomes(os.path.join(work, "results.json"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    run_schema_step("github", gh_schema, root, path)
    run_schema_step("gitlab", gl_schema, root, path)
    run_shards("github", gh_shard, gh_merge, lambda k: {"SHARD": str(k), "SHARDS": str(shards)}, shards, root, path, unsplit)
    run_shards("gitlab", gl_shard, gl_merge, lambda k: {"CI_NODE_INDEX": str(k), "CI_NODE_TOTAL": str(gl_shards)},
               gl_shards, root, path, unsplit)
    print("ci templates: both parse, have the jobs their CI needs, their schema steps judge a model change, and "
          "their shard and merge steps reproduce the "
          "unsplit run (%d cases) in %d + %d shards" % (len(unsplit), shards, gl_shards))


if __name__ == "__main__":
    main()
