from crashtransformer.cli import main

main()
