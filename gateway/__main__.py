from sessions_gateway.gateway.cli import main

main()
