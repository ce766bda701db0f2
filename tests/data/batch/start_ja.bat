rem ***************************************
rem *              START.BAT              *
rem *  フェイルオーバグループ開始スクリプト  *
rem ***************************************

IF "%CLP_EVENT%" == "START" GOTO NORMAL
IF "%CLP_EVENT%" == "FAILOVER" GOTO FAILOVER
IF "%CLP_EVENT%" == "RECOVER" GOTO RECOVER

rem クラスタ非稼働時
GOTO NO_ARM

:NORMAL
IF "%CLP_DISK%" == "FAILURE" GOTO ERROR_DISK
ARMLOAD W_SPOOL /S /M Spooler
ARMLOAD W_WEB /S /M W3SVC
IF "%CLP_SERVER%" == "OTHER" GOTO ON_OTHER1
ARMBCAST /MSG "サービスを開始しました（通常起動）" /A
GOTO EXIT
:ON_OTHER1
ARMBCAST /MSG "サービスを開始しました（待機系で起動）" /A
GOTO EXIT

:FAILOVER
IF "%CLP_DISK%" == "FAILURE" GOTO ERROR_DISK
ARMLOAD W_SPOOL /S /M Spooler
ARMLOAD W_WEB /S /M W3SVC
ARMBCAST /MSG "フェイルオーバによりサービスを開始しました" /A
GOTO EXIT

:RECOVER
GOTO EXIT

:ERROR_DISK
ARMBCAST /MSG "ディスクエラーが発生しました" /A
GOTO EXIT

:NO_ARM
ARMBCAST /MSG "クラスタが稼働していません" /A

:EXIT
EXIT /B 0
