/*
 * sc.c - the verbs of Windows sc.exe that the engine uses, with Windows's output format.
 *
 *   sc [\\server] query NAME
 *   sc [\\server] query [type= service] [state= all]     (every Win32 service, as Windows)
 *   sc [\\server] qc NAME
 *   sc [\\server] config NAME start= auto|demand|disabled|boot|system|delayed-auto
 *                             [binPath= X] [DisplayName= Y]
 *   sc [\\server] start NAME [args...]
 *   sc [\\server] stop NAME
 *   sc [\\server] create NAME binPath= X [type= own|share] [start= ...] [DisplayName= Y]
 *                             [depend= A/B] [obj= ACCOUNT] [password= P] [error= normal|...]
 *   sc [\\server] delete NAME
 *
 * Exit codes are the Win32 error of the failing call, as with Windows sc.exe (1060 no such
 * service, 1056 already running, 1062 not started, ...). Wine 8's builtin sc.exe has no "qc" and
 * no "config"; this one is selected with WINEDLLOVERRIDES=sc.exe=n after being copied to
 * C:\windows\system32\sc.exe. "sc rbsandbox" prints a marker proving which sc.exe ran.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SANDBOX_MARKER "runbook-engine sandbox sc.exe"

/* Windows's own wording for the errors the engine meets (Wine's message table words them
 * differently); anything else comes from FormatMessage. */
static const struct {
    DWORD code;
    const char *text;
} MESSAGES[] = {
    {ERROR_ACCESS_DENIED, "Access is denied."},
    {ERROR_SERVICE_ALREADY_RUNNING, "An instance of the service is already running."},
    {ERROR_SERVICE_DISABLED,
     "The service cannot be started, either because it is disabled or because it has no enabled "
     "devices associated with it."},
    {ERROR_SERVICE_DOES_NOT_EXIST, "The specified service does not exist as an installed service."},
    {ERROR_SERVICE_NOT_ACTIVE, "The service has not been started."},
    {ERROR_SERVICE_MARKED_FOR_DELETE, "The specified service has been marked for deletion."},
    {ERROR_SERVICE_EXISTS, "The specified service already exists."},
};

static void print_error(const char *call, DWORD err)
{
    char msg[512];
    DWORD n = 0;
    size_t i;
    msg[0] = '\0';
    for (i = 0; i < sizeof MESSAGES / sizeof MESSAGES[0]; ++i)
        if (MESSAGES[i].code == err)
            n = (DWORD)strlen(lstrcpynA(msg, MESSAGES[i].text, sizeof msg));
    if (n == 0)
        n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0,
                           msg, sizeof msg, NULL);
    if (n == 0)
        msg[0] = '\0';
    while (n > 0 && (msg[n - 1] == '\r' || msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    printf("[SC] %s FAILED %lu:\n\n%s\n\n", call, (unsigned long)err, msg);
}

static const char *type_name(DWORD type)
{
    switch (type & ~SERVICE_INTERACTIVE_PROCESS) {
    case SERVICE_KERNEL_DRIVER: return "KERNEL_DRIVER";
    case SERVICE_FILE_SYSTEM_DRIVER: return "FILE_SYSTEM_DRIVER";
    case SERVICE_WIN32_OWN_PROCESS: return "WIN32_OWN_PROCESS";
    case SERVICE_WIN32_SHARE_PROCESS: return "WIN32_SHARE_PROCESS";
    default: return "";
    }
}

static void print_type(DWORD type)
{
    printf("        TYPE               : %lx  %s%s\n", (unsigned long)type, type_name(type),
           (type & SERVICE_INTERACTIVE_PROCESS) ? " (interactive)" : "");
}

static const char *state_name(DWORD state)
{
    switch (state) {
    case SERVICE_STOPPED: return "STOPPED";
    case SERVICE_START_PENDING: return "START_PENDING";
    case SERVICE_STOP_PENDING: return "STOP_PENDING";
    case SERVICE_RUNNING: return "RUNNING";
    case SERVICE_CONTINUE_PENDING: return "CONTINUE_PENDING";
    case SERVICE_PAUSE_PENDING: return "PAUSE_PENDING";
    case SERVICE_PAUSED: return "PAUSED";
    default: return "";
    }
}

static const char *start_name(DWORD start)
{
    switch (start) {
    case SERVICE_BOOT_START: return "BOOT_START";
    case SERVICE_SYSTEM_START: return "SYSTEM_START";
    case SERVICE_AUTO_START: return "AUTO_START";
    case SERVICE_DEMAND_START: return "DEMAND_START";
    case SERVICE_DISABLED: return "DISABLED";
    default: return "";
    }
}

static const char *error_name(DWORD e)
{
    switch (e) {
    case SERVICE_ERROR_IGNORE: return "IGNORE";
    case SERVICE_ERROR_NORMAL: return "NORMAL";
    case SERVICE_ERROR_SEVERE: return "SEVERE";
    case SERVICE_ERROR_CRITICAL: return "CRITICAL";
    default: return "";
    }
}

static void print_status(const char *name, const SERVICE_STATUS_PROCESS *st, int with_pid,
                         const char *display)
{
    DWORD c = st->dwControlsAccepted;
    printf("\nSERVICE_NAME: %s \n", name);
    if (display != NULL)
        printf("DISPLAY_NAME: %s\n", display);
    print_type(st->dwServiceType);
    printf("        STATE              : %lu  %s \n", (unsigned long)st->dwCurrentState,
           state_name(st->dwCurrentState));
    printf("                                (%s, %s, %s)\n",
           (c & SERVICE_ACCEPT_STOP) ? "STOPPABLE" : "NOT_STOPPABLE",
           (c & SERVICE_ACCEPT_PAUSE_CONTINUE) ? "PAUSABLE" : "NOT_PAUSABLE",
           (c & SERVICE_ACCEPT_SHUTDOWN) ? "ACCEPTS_SHUTDOWN" : "IGNORES_SHUTDOWN");
    printf("        WIN32_EXIT_CODE    : %lu  (0x%lx)\n", (unsigned long)st->dwWin32ExitCode,
           (unsigned long)st->dwWin32ExitCode);
    printf("        SERVICE_EXIT_CODE  : %lu  (0x%lx)\n",
           (unsigned long)st->dwServiceSpecificExitCode,
           (unsigned long)st->dwServiceSpecificExitCode);
    printf("        CHECKPOINT         : 0x%lx\n", (unsigned long)st->dwCheckPoint);
    printf("        WAIT_HINT          : 0x%lx\n", (unsigned long)st->dwWaitHint);
    if (with_pid) {
        printf("        PID                : %lu\n", (unsigned long)st->dwProcessId);
        printf("        FLAGS              : \n");
    }
}

/* Options given as "key= value" (two arguments, as Windows requires) or "key=value". */
struct options {
    const char *bin_path;
    const char *display_name;
    const char *depend;
    const char *obj;
    const char *password;
    DWORD start;
    DWORD type;
    DWORD error;
    int delayed;
};

static int parse_start(const char *v, DWORD *start, int *delayed)
{
    *delayed = 0;
    if (_stricmp(v, "boot") == 0) *start = SERVICE_BOOT_START;
    else if (_stricmp(v, "system") == 0) *start = SERVICE_SYSTEM_START;
    else if (_stricmp(v, "auto") == 0) *start = SERVICE_AUTO_START;
    else if (_stricmp(v, "demand") == 0) *start = SERVICE_DEMAND_START;
    else if (_stricmp(v, "disabled") == 0) *start = SERVICE_DISABLED;
    else if (_stricmp(v, "delayed-auto") == 0) { *start = SERVICE_AUTO_START; *delayed = 1; }
    else return 0;
    return 1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    int i;
    o->bin_path = o->display_name = o->depend = o->obj = o->password = NULL;
    o->start = o->type = o->error = SERVICE_NO_CHANGE;
    o->delayed = 0;
    for (i = 0; i < argc; ++i) {
        char key[64];
        const char *eq = strchr(argv[i], '=');
        const char *val;
        size_t klen;
        if (eq == NULL || (size_t)(eq - argv[i]) >= sizeof key) {
            printf("[SC] Invalid option: %s\n", argv[i]);
            return 0;
        }
        klen = (size_t)(eq - argv[i]);
        memcpy(key, argv[i], klen);
        key[klen] = '\0';
        if (eq[1] != '\0') {
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                printf("[SC] Missing value for option %s=\n", key);
                return 0;
            }
            val = argv[++i];
        }
        if (_stricmp(key, "binPath") == 0) o->bin_path = val;
        else if (_stricmp(key, "DisplayName") == 0) o->display_name = val;
        else if (_stricmp(key, "depend") == 0) o->depend = val;
        else if (_stricmp(key, "obj") == 0) o->obj = val;
        else if (_stricmp(key, "password") == 0) o->password = val;
        else if (_stricmp(key, "start") == 0) {
            if (!parse_start(val, &o->start, &o->delayed)) {
                printf("[SC] Invalid start= value: %s\n", val);
                return 0;
            }
        } else if (_stricmp(key, "type") == 0) {
            if (_stricmp(val, "own") == 0) o->type = SERVICE_WIN32_OWN_PROCESS;
            else if (_stricmp(val, "share") == 0) o->type = SERVICE_WIN32_SHARE_PROCESS;
            else if (_stricmp(val, "kernel") == 0) o->type = SERVICE_KERNEL_DRIVER;
            else if (_stricmp(val, "filesys") == 0) o->type = SERVICE_FILE_SYSTEM_DRIVER;
            else { printf("[SC] Invalid type= value: %s\n", val); return 0; }
        } else if (_stricmp(key, "error") == 0) {
            if (_stricmp(val, "normal") == 0) o->error = SERVICE_ERROR_NORMAL;
            else if (_stricmp(val, "severe") == 0) o->error = SERVICE_ERROR_SEVERE;
            else if (_stricmp(val, "critical") == 0) o->error = SERVICE_ERROR_CRITICAL;
            else if (_stricmp(val, "ignore") == 0) o->error = SERVICE_ERROR_IGNORE;
            else { printf("[SC] Invalid error= value: %s\n", val); return 0; }
        } else {
            printf("[SC] Invalid option: %s=\n", key);
            return 0;
        }
    }
    return 1;
}

/* "A/B" -> "A\0B\0\0" as CreateService / ChangeServiceConfig want. Caller frees. */
static char *multi_sz(const char *slashed)
{
    size_t n = strlen(slashed);
    char *out = (char *)calloc(n + 2, 1);
    size_t i;
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; ++i)
        out[i] = slashed[i] == '/' ? '\0' : slashed[i];
    return out;
}

static SC_HANDLE open_scm(DWORD access)
{
    SC_HANDLE scm = OpenSCManagerA(NULL, NULL, access);
    if (scm == NULL)
        print_error("OpenSCManager", GetLastError());
    return scm;
}

static SC_HANDLE open_service(SC_HANDLE scm, const char *name, DWORD access, const char *call)
{
    SC_HANDLE svc = OpenServiceA(scm, name, access);
    if (svc == NULL)
        print_error(call, GetLastError());
    return svc;
}

static int query_status(SC_HANDLE svc, SERVICE_STATUS_PROCESS *st)
{
    DWORD needed = 0;
    return QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)st, sizeof *st, &needed);
}

static int cmd_query(const char *name)
{
    SC_HANDLE scm = open_scm(SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS_PROCESS st;
    DWORD err = 0;
    if (scm == NULL)
        return (int)GetLastError();
    svc = open_service(scm, name, SERVICE_QUERY_STATUS, "EnumQueryServicesStatus:OpenService");
    if (svc == NULL) {
        err = GetLastError();
    } else {
        if (query_status(svc, &st))
            print_status(name, &st, 0, NULL);
        else
            print_error("QueryServiceStatusEx", err = GetLastError());
        CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return (int)err;
}

/* sc query type= service state= all: every Win32 service with its display name and status. */
static int cmd_query_all(int argc, char **argv)
{
    SC_HANDLE scm = open_scm(SC_MANAGER_ENUMERATE_SERVICE);
    DWORD state = SERVICE_ACTIVE, needed = 0, count = 0, resume = 0, err = 0, i;
    BYTE *buf = NULL;
    int a;
    for (a = 0; a + 1 < argc; a += 2) {
        if (_stricmp(argv[a], "state=") == 0)
            state = _stricmp(argv[a + 1], "all") == 0 ? SERVICE_STATE_ALL
                  : _stricmp(argv[a + 1], "inactive") == 0 ? SERVICE_INACTIVE : SERVICE_ACTIVE;
    }
    if (scm == NULL)
        return (int)GetLastError();
    EnumServicesStatusExA(scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, state, NULL, 0, &needed,
                          &count, &resume, NULL);
    buf = (BYTE *)malloc(needed + 1);
    resume = 0;
    if (buf == NULL || !EnumServicesStatusExA(scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, state, buf,
                                              needed, &needed, &count, &resume, NULL)) {
        print_error("EnumServicesStatusEx", err = GetLastError());
    } else {
        ENUM_SERVICE_STATUS_PROCESSA *e = (ENUM_SERVICE_STATUS_PROCESSA *)buf;
        for (i = 0; i < count; i++) {
            print_status(e[i].lpServiceName, &e[i].ServiceStatusProcess, 0,
                         e[i].lpDisplayName ? e[i].lpDisplayName : "");
        }
    }
    free(buf);
    CloseServiceHandle(scm);
    return (int)err;
}

static int cmd_qc(const char *name)
{
    SC_HANDLE scm = open_scm(SC_MANAGER_CONNECT), svc;
    QUERY_SERVICE_CONFIGA *cfg = NULL;
    DWORD needed = 0, err = 0;
    if (scm == NULL)
        return (int)GetLastError();
    svc = open_service(scm, name, SERVICE_QUERY_CONFIG, "OpenService");
    if (svc == NULL) {
        err = GetLastError();
        CloseServiceHandle(scm);
        return (int)err;
    }
    QueryServiceConfigA(svc, NULL, 0, &needed);
    cfg = (QUERY_SERVICE_CONFIGA *)malloc(needed ? needed : sizeof *cfg);
    if (cfg != NULL && QueryServiceConfigA(svc, cfg, needed, &needed)) {
        const char *dep;
        printf("[SC] QueryServiceConfig SUCCESS\n\n");
        printf("SERVICE_NAME: %s\n", name);
        print_type(cfg->dwServiceType);
        printf("        START_TYPE         : %lu   %s\n", (unsigned long)cfg->dwStartType,
               start_name(cfg->dwStartType));
        printf("        ERROR_CONTROL      : %lu   %s\n", (unsigned long)cfg->dwErrorControl,
               error_name(cfg->dwErrorControl));
        printf("        BINARY_PATH_NAME   : %s\n", cfg->lpBinaryPathName ? cfg->lpBinaryPathName : "");
        printf("        LOAD_ORDER_GROUP   : %s\n", cfg->lpLoadOrderGroup ? cfg->lpLoadOrderGroup : "");
        printf("        TAG                : %lu\n", (unsigned long)cfg->dwTagId);
        printf("        DISPLAY_NAME       : %s\n", cfg->lpDisplayName ? cfg->lpDisplayName : "");
        printf("        DEPENDENCIES       : ");
        dep = cfg->lpDependencies;
        if (dep != NULL && *dep) {
            int first = 1;
            while (*dep) {
                if (!first)
                    printf("                           : ");
                printf("%s\n", dep);
                first = 0;
                dep += strlen(dep) + 1;
            }
        } else {
            printf("\n");
        }
        printf("        SERVICE_START_NAME : %s\n",
               cfg->lpServiceStartName ? cfg->lpServiceStartName : "");
    } else {
        print_error("QueryServiceConfig", err = GetLastError());
    }
    free(cfg);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return (int)err;
}

static int set_delayed(SC_HANDLE svc, int delayed)
{
    SERVICE_DELAYED_AUTO_START_INFO info;
    info.fDelayedAutostart = delayed ? TRUE : FALSE;
    return ChangeServiceConfig2A(svc, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &info);
}

static int cmd_config(const char *name, int argc, char **argv)
{
    struct options o;
    SC_HANDLE scm, svc;
    DWORD err = 0;
    char *deps = NULL;
    if (!parse_options(argc, argv, &o))
        return ERROR_INVALID_PARAMETER;
    scm = open_scm(SC_MANAGER_CONNECT);
    if (scm == NULL)
        return (int)GetLastError();
    svc = open_service(scm, name, SERVICE_CHANGE_CONFIG | SERVICE_QUERY_CONFIG, "OpenService");
    if (svc == NULL) {
        err = GetLastError();
        CloseServiceHandle(scm);
        return (int)err;
    }
    if (o.depend)
        deps = multi_sz(o.depend);
    if (!ChangeServiceConfigA(svc, o.type, o.start, o.error, o.bin_path, NULL, NULL, deps, o.obj,
                              o.password, o.display_name)) {
        print_error("ChangeServiceConfig", err = GetLastError());
    } else {
        if (o.start == SERVICE_AUTO_START)
            set_delayed(svc, o.delayed); /* best effort, as Windows sc */
        printf("[SC] ChangeServiceConfig SUCCESS\n");
    }
    free(deps);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return (int)err;
}

static int cmd_start(const char *name, int argc, char **argv)
{
    SC_HANDLE scm = open_scm(SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS_PROCESS st;
    DWORD err = 0;
    if (scm == NULL)
        return (int)GetLastError();
    svc = open_service(scm, name, SERVICE_START | SERVICE_QUERY_STATUS, "OpenService");
    if (svc == NULL) {
        err = GetLastError();
        CloseServiceHandle(scm);
        return (int)err;
    }
    if (!StartServiceA(svc, (DWORD)argc, (const char **)argv)) {
        print_error("StartService", err = GetLastError());
    } else if (query_status(svc, &st)) {
        print_status(name, &st, 1, NULL);
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return (int)err;
}

static int cmd_stop(const char *name)
{
    SC_HANDLE scm = open_scm(SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS s;
    SERVICE_STATUS_PROCESS st;
    DWORD err = 0;
    if (scm == NULL)
        return (int)GetLastError();
    svc = open_service(scm, name, SERVICE_STOP | SERVICE_QUERY_STATUS, "OpenService");
    if (svc == NULL) {
        err = GetLastError();
        CloseServiceHandle(scm);
        return (int)err;
    }
    if (!ControlService(svc, SERVICE_CONTROL_STOP, &s)) {
        print_error("ControlService", err = GetLastError());
    } else {
        memset(&st, 0, sizeof st);
        st.dwServiceType = s.dwServiceType;
        st.dwCurrentState = s.dwCurrentState;
        st.dwControlsAccepted = s.dwControlsAccepted;
        st.dwWin32ExitCode = s.dwWin32ExitCode;
        st.dwServiceSpecificExitCode = s.dwServiceSpecificExitCode;
        st.dwCheckPoint = s.dwCheckPoint;
        st.dwWaitHint = s.dwWaitHint;
        print_status(name, &st, 0, NULL);
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return (int)err;
}

static int cmd_create(const char *name, int argc, char **argv)
{
    struct options o;
    SC_HANDLE scm, svc;
    DWORD err = 0;
    char *deps = NULL;
    if (!parse_options(argc, argv, &o))
        return ERROR_INVALID_PARAMETER;
    if (o.bin_path == NULL) {
        printf("[SC] CreateService: binPath= is required\n");
        return ERROR_INVALID_PARAMETER;
    }
    scm = open_scm(SC_MANAGER_CREATE_SERVICE);
    if (scm == NULL)
        return (int)GetLastError();
    if (o.depend)
        deps = multi_sz(o.depend);
    svc = CreateServiceA(scm, name, o.display_name ? o.display_name : name, SERVICE_ALL_ACCESS,
                         o.type == SERVICE_NO_CHANGE ? SERVICE_WIN32_OWN_PROCESS : o.type,
                         o.start == SERVICE_NO_CHANGE ? SERVICE_DEMAND_START : o.start,
                         o.error == SERVICE_NO_CHANGE ? SERVICE_ERROR_NORMAL : o.error, o.bin_path,
                         NULL, NULL, deps, o.obj, o.password);
    if (svc == NULL) {
        print_error("CreateService", err = GetLastError());
    } else {
        if (o.delayed)
            set_delayed(svc, 1);
        printf("[SC] CreateService SUCCESS\n");
        CloseServiceHandle(svc);
    }
    free(deps);
    CloseServiceHandle(scm);
    return (int)err;
}

static int cmd_delete(const char *name)
{
    SC_HANDLE scm = open_scm(SC_MANAGER_CONNECT), svc;
    DWORD err = 0;
    if (scm == NULL)
        return (int)GetLastError();
    svc = open_service(scm, name, DELETE, "OpenService");
    if (svc == NULL) {
        err = GetLastError();
        CloseServiceHandle(scm);
        return (int)err;
    }
    if (!DeleteService(svc))
        print_error("DeleteService", err = GetLastError());
    else
        printf("[SC] DeleteService SUCCESS\n");
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return (int)err;
}

static void usage(void)
{
    printf("DESCRIPTION:\n"
           "        SC is a command line program used for communicating with the\n"
           "        Service Control Manager and services.\n"
           "USAGE:\n"
           "        sc <server> [command] [service name] <option1> <option2>...\n\n"
           "        Commands (this sandbox implementation): query, qc, config, start, stop,\n"
           "        create, delete.\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *verb, *name;
    setvbuf(stdout, NULL, _IOFBF, 8192);
    if (argc > i && argv[i][0] == '\\' && argv[i][1] == '\\')
        ++i; /* \\server: only the local machine is supported */
    if (argc <= i) {
        usage();
        return 0;
    }
    verb = argv[i++];
    if (_stricmp(verb, "rbsandbox") == 0) {
        printf("%s\n", SANDBOX_MARKER);
        return 0;
    }
    if (argc <= i) {
        usage();
        return ERROR_INVALID_PARAMETER;
    }
    if (_stricmp(verb, "query") == 0 && strchr(argv[i], '=') != NULL)
        return cmd_query_all(argc - i, argv + i);
    name = argv[i++];
    if (_stricmp(verb, "query") == 0) return cmd_query(name);
    if (_stricmp(verb, "qc") == 0) return cmd_qc(name);
    if (_stricmp(verb, "config") == 0) return cmd_config(name, argc - i, argv + i);
    if (_stricmp(verb, "start") == 0) return cmd_start(name, argc - i, argv + i);
    if (_stricmp(verb, "stop") == 0) return cmd_stop(name);
    if (_stricmp(verb, "create") == 0) return cmd_create(name, argc - i, argv + i);
    if (_stricmp(verb, "delete") == 0) return cmd_delete(name);
    usage();
    return ERROR_INVALID_PARAMETER;
}
