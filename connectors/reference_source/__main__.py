from connectors.reference_source.cli import main

main()
