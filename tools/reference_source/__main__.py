from tools.reference_source.cli import main

main()
