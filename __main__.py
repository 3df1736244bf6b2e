"""The EKS networking lab: settings -> the lab -> stack outputs."""

from stacks import lab

lab.main()
