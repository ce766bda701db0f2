@echo off
setlocal
:: START.BAT (English)
set SVC=Spooler
IF /I "%clp_event%" == "start" GOTO :NORMAL
IF /I "%CLP_EVENT%" == "failover" GOTO :NORMAL
GOTO :NO_ARM

:NORMAL
IF "%CLP_DISK%"=="FAILURE" GOTO :ERROR_DISK
ARMLOAD W_SPOOL /S /M %SVC%
ARMLOAD W_WEB /S /M W3SVC
IF "%CLP_SERVER%"=="HOME" ARMBCAST /MSG "Services started on the primary server (100%% ready)" /A
IF NOT "%CLP_SERVER%"=="HOME" ARMBCAST /MSG "Services started on a standby server" /A
GOTO :EOF

:ERROR_DISK
ARMBCAST /MSG "Disk error: services not started" /A
EXIT /B 1

:NO_ARM
ARMBCAST /MSG "The cluster is not running" /A
endlocal
