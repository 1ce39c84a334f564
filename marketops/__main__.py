from marketops.cli import main

main()
