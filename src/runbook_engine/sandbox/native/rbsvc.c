/*
 * rbsvc.c - a minimal but real Windows service for the sandbox cluster.
 *
 * Services registered with this executable can be started and stopped through the service
 * control manager (StartService / ControlService), under Wine as on Windows. It reports
 * SERVICE_RUNNING at once and SERVICE_STOPPED when asked to STOP (or at SHUTDOWN).
 *
 * Usage as a binPath:  C:\CLUSTERPRO\sandbox\rbsvc.exe [SERVICE_NAME]
 * The optional name is used in the dispatcher table; an own-process service does not need it.
 */
#include <windows.h>

static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;
static HANDLE g_stop_event;
static char g_name[256] = "";

static void report(DWORD state)
{
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwControlsAccepted =
        state == SERVICE_RUNNING ? (SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN) : 0;
    g_status.dwWin32ExitCode = NO_ERROR;
    g_status.dwServiceSpecificExitCode = 0;
    g_status.dwCheckPoint = 0;
    g_status.dwWaitHint = 0;
    SetServiceStatus(g_status_handle, &g_status);
}

static DWORD WINAPI handler(DWORD control, DWORD type, LPVOID data, LPVOID context)
{
    (void)type;
    (void)data;
    (void)context;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        report(SERVICE_STOP_PENDING);
        SetEvent(g_stop_event);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        SetServiceStatus(g_status_handle, &g_status);
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void WINAPI service_main(DWORD argc, LPSTR *argv)
{
    const char *name = (argc > 0 && argv[0]) ? argv[0] : g_name;
    g_status_handle = RegisterServiceCtrlHandlerExA(name, handler, NULL);
    if (!g_status_handle)
        return;
    g_stop_event = CreateEventA(NULL, TRUE, FALSE, NULL);
    report(SERVICE_RUNNING);
    WaitForSingleObject(g_stop_event, INFINITE);
    report(SERVICE_STOPPED);
}

int main(int argc, char **argv)
{
    SERVICE_TABLE_ENTRYA table[2];
    if (argc > 1) {
        lstrcpynA(g_name, argv[1], sizeof g_name);
    }
    table[0].lpServiceName = g_name;
    table[0].lpServiceProc = service_main;
    table[1].lpServiceName = NULL;
    table[1].lpServiceProc = NULL;
    if (!StartServiceCtrlDispatcherA(table))
        return (int)GetLastError();
    return 0;
}
