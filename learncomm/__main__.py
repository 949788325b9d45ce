from learncomm.sim.cli import main

main()
