from subgraphs.kit.migrations import run_env

run_env()
