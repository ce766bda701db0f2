rem ***************************************
rem *              STOP.BAT               *
rem *  フェイルオーバグループ停止スクリプト  *
rem ***************************************

IF "%CLP_EVENT%" == "START" GOTO NORMAL
IF "%CLP_EVENT%" == "FAILOVER" GOTO FAILOVER
GOTO NO_ARM

:NORMAL
IF "%CLP_DISK%" == "FAILURE" GOTO ERROR_DISK
ARMKILL W_WEB
ARMKILL W_SPOOL
GOTO EXIT

:FAILOVER
IF "%CLP_DISK%" == "FAILURE" GOTO ERROR_DISK
ARMKILL W_WEB
ARMKILL W_SPOOL
GOTO EXIT

:ERROR_DISK
ARMBCAST /MSG "ディスクエラーが発生しました" /A
GOTO EXIT

:NO_ARM
ARMBCAST /MSG "クラスタが稼働していません" /A

:EXIT
EXIT /B 0
