; SPDX-License-Identifier: GPL-2.0-or-later
; The Trellis installer for 64-bit Windows (NSIS 3, Debian's makensis).
; Built by scripts/build-windows.sh --installer:
;   makensis -DVERSION=X -DDIST=build-win/dist -DOUTFILE=... [-DTAP_DRIVER=DIR] installer.nsi
;
; Installs the programs and their DLLs, the Event Log source, the data
; directory (ProgramData\Trellis, administrators only), the local group
; "Trellis Users" (the installing user in it), Start-menu entries,
; the tray's autostart when the tray is part of the build, a firewall rule
; for the client, and an uninstaller that removes all of it, the networks'
; services included. TAP-Windows6: installed from the driver files bundled
; with -DTAP_DRIVER, else detected, else the user is told what to install.
;
; Command line (silent: /S):
;   /NETWORK=NAME /CONFIG=FILE   also install (not start) the network's service
;   /D=DIR                       installation directory (last, unquoted)

Unicode true
Target amd64-unicode
RequestExecutionLevel admin
SetCompressor /SOLID lzma

!ifndef VERSION
!error "-DVERSION=... is required"
!endif
!ifndef DIST
!error "-DDIST=build-win/dist is required"
!endif
!ifndef OUTFILE
!define OUTFILE "trellis-${VERSION}-setup.exe"
!endif

!include "FileFunc.nsh"
!include "LogicLib.nsh"
!include "WinMessages.nsh"
!include "x64.nsh"

!define PRODUCT "Trellis"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Trellis"
!define EVENTLOG_KEY "SYSTEM\CurrentControlSet\Services\EventLog\Application"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"

Name "${PRODUCT} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${PRODUCT}"
InstallDirRegKey HKLM "Software\${PRODUCT}" "InstallDir"
ShowInstDetails show
ShowUninstDetails show

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Var DataDir

Function .onInit
	${IfNot} ${RunningX64}
		MessageBox MB_ICONSTOP "Trellis needs 64-bit Windows." /SD IDOK
		Abort
	${EndIf}
	SetRegView 64
FunctionEnd

Function un.onInit
	SetRegView 64
FunctionEnd

; Runs a command, logging its output; $0 is its exit code.
!macro Run cmd
	DetailPrint `${cmd}`
	nsExec::ExecToLog '${cmd}'
	Pop $0
!macroend

Section "Trellis" SecMain
	SectionIn RO
	SetShellVarContext all
	StrCpy $DataDir "$APPDATA\${PRODUCT}"

	SetOutPath "$INSTDIR"
	File "${DIST}\*.exe"
	File "${DIST}\*.dll"
	File "${DIST}\library-versions.txt"
	WriteUninstaller "$INSTDIR\uninstall.exe"

	; ProgramData\Trellis (configuration), state\ (certificates, keys) and
	; run\ (control files): SYSTEM and the Administrators; the group
	; "Trellis Users" (made here, or the one HKLM\Software\Trellis UsersGroup
	; names) may list ProgramData\Trellis and run\, read the daemons' control
	; files and start and stop the networks' services; the user installing
	; is put in it (docs/WINDOWS.md, "Who may use it").
	CreateDirectory "$DataDir"
	CreateDirectory "$DataDir\state"
	CreateDirectory "$DataDir\run"
	!insertmacro Run '"$INSTDIR\trellis.exe" access setup'
	${If} $0 != 0
		DetailPrint "warning: the group Trellis Users could not be set up (trellis access setup: $0): only the Administrators may use Trellis"
	${Else}
		!insertmacro Run '"$INSTDIR\trellis.exe" access add'
		${If} $0 != 0
			DetailPrint "warning: you could not be added to the group Trellis Users (trellis access add: $0)"
		${EndIf}
	${EndIf}

	; The Event Log source of the daemons (common/base/log.c via platform/windows/syslog.c).
	; .NET's message file says "%1" for every event id: the message is the event.
	WriteRegExpandStr HKLM "${EVENTLOG_KEY}\trellis-client" "EventMessageFile" "%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll"
	WriteRegDWORD HKLM "${EVENTLOG_KEY}\trellis-client" "TypesSupported" 7

	; Add/Remove Programs.
	WriteRegStr HKLM "Software\${PRODUCT}" "InstallDir" "$INSTDIR"
	WriteRegStr HKLM "Software\${PRODUCT}" "Version" "${VERSION}"
	WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT} ${VERSION}"
	WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
	WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "The Trellis developers"
	WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
	WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
	WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
	WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
	WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
	${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
	WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" $0

	; Start menu: the admin tool's status in a console, the uninstaller.
	CreateDirectory "$SMPROGRAMS\${PRODUCT}"
	CreateShortCut "$SMPROGRAMS\${PRODUCT}\Trellis status.lnk" "$SYSDIR\cmd.exe" '/k "$INSTDIR\trellis.exe" status' "$INSTDIR\trellis.exe"
	CreateShortCut "$SMPROGRAMS\${PRODUCT}\Uninstall Trellis.lnk" "$INSTDIR\uninstall.exe"
	${If} ${FileExists} "$INSTDIR\trellis-tray.exe"
		CreateShortCut "$SMPROGRAMS\${PRODUCT}\Trellis.lnk" "$INSTDIR\trellis-tray.exe"
		WriteRegStr HKLM "${RUN_KEY}" "Trellis" '"$INSTDIR\trellis-tray.exe"'
	${EndIf}

	; The client's UDP data channel, inbound (its TCP control connection is outbound).
	!insertmacro Run '"$SYSDIR\netsh.exe" advfirewall firewall add rule name="Trellis client" dir=in action=allow protocol=UDP program="$INSTDIR\trellis-client.exe" enable=yes'
	${If} $0 != 0
		DetailPrint "warning: could not add the firewall rule (netsh: $0)"
	${EndIf}
SectionEnd

Section "TAP-Windows6" SecTap
!ifdef TAP_DRIVER
	SetOutPath "$INSTDIR\driver"
	File "${TAP_DRIVER}\OemVista.inf"
	File "${TAP_DRIVER}\tap0901.sys"
	File "${TAP_DRIVER}\tap0901.cat"
	!insertmacro Run '"$INSTDIR\trellis-tapctl.exe" create "$INSTDIR\driver\OemVista.inf"'
	${If} $0 != 0
		MessageBox MB_ICONEXCLAMATION "The TAP-Windows6 adapter could not be created (trellis-tapctl: $0). See the details." /SD IDOK
	${EndIf}
!else
	!insertmacro Run '"$INSTDIR\trellis-tapctl.exe" list'
	; tapctl list prints "N TAP-Windows6 adapter(s)"; exit 0 with 0 adapters too:
	; ask it the other way, by opening any adapter's key.
	!insertmacro Run '"$INSTDIR\trellis-tapctl.exe" count'
	${If} $0 == 0
		DetailPrint "TAP-Windows6 is not installed."
		MessageBox MB_ICONINFORMATION "Trellis needs the TAP-Windows6 driver, which is not installed.$\r$\n$\r$\nInstall TAP-Windows6 9.24 or later (the 'tap-windows' installer from the OpenVPN project), then start your network with 'trellis service start NAME'." /SD IDOK
	${EndIf}
!endif
SectionEnd

Section "-Network service" SecService
	${GetParameters} $R0
	ClearErrors
	${GetOptions} $R0 "/NETWORK=" $R1
	${IfNot} ${Errors}
		${GetOptions} $R0 "/CONFIG=" $R2
		${If} ${Errors}
			StrCpy $R2 "$DataDir\$R1.conf"
		${EndIf}
		!insertmacro Run '"$INSTDIR\trellis.exe" service install "$R1" --config "$R2"'
		${If} $0 != 0
			MessageBox MB_ICONEXCLAMATION "The service of network $R1 could not be installed (see the details)." /SD IDOK
		${EndIf}
	${EndIf}
SectionEnd

Section "Uninstall"
	SetShellVarContext all
	; Every network's service first: the programs they run are about to go.
	; The tray, if it runs: its program cannot be removed while it does.
	FindWindow $0 "TrellisTray"
	${If} $0 != 0
		SendMessage $0 ${WM_CLOSE} 0 0
		Sleep 1000
	${EndIf}
	!insertmacro Run '"$INSTDIR\trellis.exe" service remove-all'
	; The group's rights on ProgramData\Trellis, and the group if Trellis made it.
	!insertmacro Run '"$INSTDIR\trellis.exe" access remove'
	!insertmacro Run '"$SYSDIR\netsh.exe" advfirewall firewall delete rule name="Trellis client"'
	DeleteRegValue HKLM "${RUN_KEY}" "Trellis"
	DeleteRegKey HKLM "${EVENTLOG_KEY}\trellis-client"
	DeleteRegKey HKLM "${UNINSTALL_KEY}"
	; An administrator's UsersGroup stays, as ProgramData\Trellis does.
	DeleteRegValue HKLM "Software\${PRODUCT}" "InstallDir"
	DeleteRegValue HKLM "Software\${PRODUCT}" "Version"
	DeleteRegKey /ifempty HKLM "Software\${PRODUCT}"
	RMDir /r "$SMPROGRAMS\${PRODUCT}"
	Delete "$INSTDIR\*.exe"
	Delete "$INSTDIR\*.dll"
	Delete "$INSTDIR\library-versions.txt"
	RMDir /r "$INSTDIR\driver"
	RMDir "$INSTDIR"
	; ProgramData\Trellis holds the networks' keys and configuration: kept,
	; as a reinstall needs them. The details say where.
	DetailPrint "kept $APPDATA\${PRODUCT} (configuration, certificates and keys); delete it to remove them"
SectionEnd
