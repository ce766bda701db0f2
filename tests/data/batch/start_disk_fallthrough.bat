@echo off
rem START.BAT whose disk-error branch falls through into the not-running message

IF "%CLP_EVENT%" == "START" GOTO NORMAL
IF "%CLP_EVENT%" == "FAILOVER" GOTO FAILOVER
GOTO NO_ARM

:NORMAL
IF "%CLP_DISK%" == "FAILURE" GOTO ERROR_DISK
ARMLOAD W_SPOOL /S /M Spooler
GOTO EXIT

:FAILOVER
IF "%CLP_DISK%" == "FAILURE" GOTO ERROR_DISK
ARMLOAD W_SPOOL /S /M Spooler
GOTO EXIT

:ERROR_DISK
ARMBCAST /MSG "Disk error" /A

:NO_ARM
ARMBCAST /MSG "The cluster is not running" /A

:EXIT
EXIT /B 0
