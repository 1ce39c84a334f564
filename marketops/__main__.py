from marketops.startup import begin_command

begin_command()  # before the CLI's imports (see marketops.startup)

from marketops.cli import main  # noqa: E402

main()
