from crashtransformer.cli import main

if __name__ == "__main__":  # worker processes (run/overlap.py) import this file and must not run the CLI
    main()
