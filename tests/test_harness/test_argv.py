"""The argv fix-up for hydra-core 1.3 (overrides on both sides of -m)."""

from rgexp.__main__ import fix_argv


def test_multirun_flag_moves_in_front_of_all_overrides():
    assert fix_argv(["p", "experiment=smoke", "-m", "seed=0,1,2"]) == ["p", "-m", "experiment=smoke", "seed=0,1,2"]
    assert fix_argv(["p", "a=1", "--multirun", "b=1,2"]) == ["p", "-m", "a=1", "b=1,2"]


def test_without_multirun_argv_is_untouched():
    argv = ["p", "experiment=smoke", "seed=3"]
    assert fix_argv(argv) == argv
