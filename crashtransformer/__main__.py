from crashtransformer.cli import main

if __name__ == "__main__":  # as crashtransformer.py: spawned workers must not run the CLI again
    main()
