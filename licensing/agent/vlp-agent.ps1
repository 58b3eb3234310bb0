<#
.SYNOPSIS
    Volume Licensing Portal agent: reports this machine's Office licence state (WMI) to the
    portal, or, in host mode, a KMS host's counters.

.DESCRIPTION
    Client mode (default) reads the Office licences from WMI (SoftwareLicensingProduct, and
    OfficeSoftwareProtectionProduct for Office 2010/2013 on Windows 7), adds the computer name,
    FQDN and the KMS client settings, and posts them to <PortalUrl>/api/v1/inventory/wmi/ with an
    inventory agent token.

    Host mode (-Mode Host -KmsHostId <id>) reads the KMS host counters from WMI and posts them,
    written as `slmgr.vbs /dlv` text with English labels whatever the language of Windows, to
    <PortalUrl>/api/v1/kms-hosts/<id>/status-reports/ with the host's reporter token.

    -Install copies the script to %ProgramData%\VolumeLicensingPortal, stores the portal URL and
    the token there (the token encrypted with DPAPI for this machine, the folder readable by
    SYSTEM and Administrators only) and registers a scheduled task that runs it as SYSTEM at
    start-up and every -IntervalHours hours. -Uninstall removes the task and the folder.

    Failed posts are retried with exponential back-off (30 s, 60 s, 120 s, ... up to
    -MaxAttempts; a 4xx other than 408/429 is not retried). Every run appends to agent.log in
    the same folder (kept under 1 MB); the token is never written to the log.

.EXAMPLE
    # The one-liner shown on the portal's Tokens page:
    powershell -NoProfile -ExecutionPolicy Bypass -Command "& ([scriptblock]::Create((Invoke-RestMethod 'https://portal.example/agent/vlp-agent.ps1'))) -Install -PortalUrl 'https://portal.example' -Token 'vlp_...'"
#>
[CmdletBinding()]
param(
    [string]$PortalUrl,
    [string]$Token,
    [ValidateSet('Client', 'Host')]
    [string]$Mode = 'Client',
    [int]$KmsHostId = 0,
    [string]$Proxy,
    [switch]$ProxyUseDefaultCredentials,
    [switch]$Install,
    [switch]$Uninstall,
    [int]$IntervalHours = 12,
    [int]$MaxAttempts = 5,
    [string]$Organisation,
    [switch]$DryRun
)

$ErrorActionPreference = 'Stop'
$AgentVersion = '1.0'
$Home_ = Join-Path $env:ProgramData 'VolumeLicensingPortal'
$ConfigPath = Join-Path $Home_ 'agent.json'
$LogPath = Join-Path $Home_ 'agent.log'
$TaskName = 'Volume Licensing Portal agent'
$OfficeAppId = '0ff1ce15-a989-479d-af46-f275c6370663'

# The WMI properties the portal reads (licensing/parsers/wmi.py); others are left out to keep
# the report small.
$ProductProperties = @(
    'ID', 'ApplicationID', 'Name', 'Description', 'LicenseStatus', 'LicenseStatusReason',
    'GracePeriodRemaining', 'PartialProductKey', 'OfflineInstallationId', 'ProductKeyChannel',
    'KeyManagementServiceMachine', 'KeyManagementServicePort',
    'DiscoveredKeyManagementServiceMachineName', 'DiscoveredKeyManagementServiceMachinePort',
    'VLActivationInterval', 'VLRenewalInterval', 'EvaluationEndDate'
)

# slmgr.vbs /dlv as the portal's parser reads it ({0}..{17} filled from WMI in host mode).
$HostTextTemplate = @'
Name: {0}
Description: {1}
Activation ID: {2}
Partial Product Key: {3}
License Status: {4}
Key Management Service is enabled on this machine
    Current count: {5}
    Listening on Port: {6}
    {7}
    KMS priority: {8}
Key Management Service cumulative requests received from clients
    Total requests received: {9}
    Failed requests received: {10}
    Requests with License Status Unlicensed: {11}
    Requests with License Status Licensed: {12}
    Requests with License Status Initial grace period: {13}
    Requests with License Status License expired or Hardware out of tolerance: {14}
    Requests with License Status Non-genuine grace period: {15}
    Requests with License Status Notification: {16}
'@
$StatusWords = @('Unlicensed', 'Licensed', 'Initial grace period', 'Out-of-tolerance grace period',
    'Non-genuine grace period', 'Notification', 'Extended grace period')

function Write-Log([string]$Message) {
    if (-not (Test-Path $Home_)) { New-Item -ItemType Directory -Path $Home_ -Force | Out-Null }
    if ((Test-Path $LogPath) -and (Get-Item $LogPath).Length -gt 1MB) {
        Move-Item -Force $LogPath "$LogPath.1"
    }
    $line = '{0:u} [{1}] {2}' -f (Get-Date).ToUniversalTime(), $Mode, $Message
    Add-Content -Path $LogPath -Value $line -Encoding UTF8
    Write-Verbose $line
}

function Protect-Token([string]$Plain) {
    Add-Type -AssemblyName System.Security
    $bytes = [Text.Encoding]::UTF8.GetBytes($Plain)
    $sealed = [Security.Cryptography.ProtectedData]::Protect(
        $bytes, $null, [Security.Cryptography.DataProtectionScope]::LocalMachine)
    [Convert]::ToBase64String($sealed)
}

function Unprotect-Token([string]$Sealed) {
    Add-Type -AssemblyName System.Security
    $bytes = [Security.Cryptography.ProtectedData]::Unprotect(
        [Convert]::FromBase64String($Sealed), $null,
        [Security.Cryptography.DataProtectionScope]::LocalMachine)
    [Text.Encoding]::UTF8.GetString($bytes)
}

function Get-Config {
    if (-not (Test-Path $ConfigPath)) { return $null }
    $c = Get-Content -Raw -Path $ConfigPath | ConvertFrom-Json
    $c | Add-Member -NotePropertyName token -NotePropertyValue (Unprotect-Token $c.sealed_token) -Force
    $c
}

function Install-Agent {
    if (-not $PortalUrl -or -not $Token) { throw 'Give -PortalUrl and -Token to install.' }
    New-Item -ItemType Directory -Path $Home_ -Force | Out-Null
    # SYSTEM and Administrators only: the folder holds the (encrypted) token.
    & icacls.exe $Home_ /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
    $target = Join-Path $Home_ 'vlp-agent.ps1'
    if ($PSCommandPath) {
        Copy-Item -Force -Path $PSCommandPath -Destination $target
    } else {
        # Run from the one-liner: fetch the script again to keep a copy.
        $proxyArgs = Get-ProxyArgs
        Invoke-WebRequest -UseBasicParsing -Uri ($PortalUrl.TrimEnd('/') + '/agent/vlp-agent.ps1') `
            -OutFile $target @proxyArgs
    }
    [ordered]@{
        portal_url = $PortalUrl.TrimEnd('/'); sealed_token = (Protect-Token $Token); mode = $Mode
        kms_host_id = $KmsHostId; proxy = $Proxy; proxy_default_credentials = [bool]$ProxyUseDefaultCredentials
        organisation = $Organisation; max_attempts = $MaxAttempts
    } | ConvertTo-Json | Set-Content -Path $ConfigPath -Encoding UTF8
    $action = New-ScheduledTaskAction -Execute 'powershell.exe' `
        -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$target`""
    $triggers = @(
        (New-ScheduledTaskTrigger -AtStartup),
        (New-ScheduledTaskTrigger -Once -At (Get-Date).AddMinutes(5) `
            -RepetitionInterval (New-TimeSpan -Hours $IntervalHours))
    )
    $triggers[0].Delay = 'PT10M'
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    $settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -RandomDelay (New-TimeSpan -Minutes 30) `
        -ExecutionTimeLimit (New-TimeSpan -Minutes 30)
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $triggers -Principal $principal `
        -Settings $settings -Force | Out-Null
    Write-Log "installed: task '$TaskName' every $IntervalHours h, portal $($PortalUrl.TrimEnd('/'))"
    Write-Host "Installed. The first report is sent now; see $LogPath."
}

function Uninstall-Agent {
    Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force -Path $Home_ -ErrorAction SilentlyContinue
    Write-Host 'Uninstalled.'
}

function Get-ProxyArgs {
    $a = @{}
    if ($script:Proxy) { $a.Proxy = $script:Proxy }
    if ($script:ProxyUseDefaultCredentials) { $a.ProxyUseDefaultCredentials = $true }
    $a
}

function Get-OfficeProducts {
    $filter = "ApplicationID='$OfficeAppId' AND PartialProductKey IS NOT NULL"
    $found = @()
    foreach ($class in 'SoftwareLicensingProduct', 'OfficeSoftwareProtectionProduct') {
        try {
            $found += @(Get-CimInstance -ClassName $class -Filter $filter -ErrorAction Stop |
                Select-Object -Property $ProductProperties)
        } catch {
            # OfficeSoftwareProtectionProduct exists only where Office 2010/2013 runs on Windows 7.
            Write-Verbose "$class not available: $($_.Exception.Message)"
        }
    }
    , $found
}

function Get-ServiceInfo {
    foreach ($class in 'OfficeSoftwareProtectionService', 'SoftwareLicensingService') {
        try {
            return Get-CimInstance -ClassName $class -ErrorAction Stop |
                Select-Object -Property ClientMachineID, KeyManagementServiceMachine,
                    KeyManagementServicePort, KeyManagementServiceCurrentCount,
                    KeyManagementServiceListeningPort, KeyManagementServiceDnsPublishing,
                    KeyManagementServiceLowPriority, KeyManagementServiceTotalRequests,
                    KeyManagementServiceFailedRequests, KeyManagementServiceUnlicensedRequests,
                    KeyManagementServiceLicensedRequests, KeyManagementServiceOOBGraceRequests,
                    KeyManagementServiceOOTGraceRequests, KeyManagementServiceNonGenuineGraceRequests,
                    KeyManagementServiceNotificationRequests, Version
        } catch { Write-Verbose "$class not available" }
    }
    $null
}

function Get-KmsClientSettings {
    $key = 'HKLM:\SOFTWARE\Microsoft\OfficeSoftwareProtectionPlatform'
    $s = [ordered]@{}
    if (Test-Path $key) {
        $p = Get-ItemProperty -Path $key
        foreach ($n in 'KeyManagementServiceName', 'KeyManagementServicePort', 'VLActivationType') {
            if ($null -ne $p.$n) { $s[$n] = [string]$p.$n }
        }
    }
    $s
}

function Get-Fqdn {
    try { return [System.Net.Dns]::GetHostEntry('').HostName } catch { }
    $cs = Get-CimInstance Win32_ComputerSystem
    if ($cs.PartOfDomain) { "$($cs.Name).$($cs.Domain)" } else { $cs.Name }
}

function Get-ClientReport {
    $report = [ordered]@{
        hostname     = $env:COMPUTERNAME
        fqdn         = (Get-Fqdn).ToLower()
        collected_at = (Get-Date).ToUniversalTime().ToString('o')
        agent        = "vlp-agent.ps1 $AgentVersion"
        kms_settings = Get-KmsClientSettings
        service      = Get-ServiceInfo
        products     = Get-OfficeProducts
    }
    if ($Organisation) { $report.organisation = $Organisation }
    $report
}

function Get-HostText {
    $svc = Get-CimInstance -ClassName SoftwareLicensingService
    $lic = Get-CimInstance -ClassName SoftwareLicensingProduct `
        -Filter "PartialProductKey IS NOT NULL AND Description LIKE '%VOLUME_KMS %'" |
        Select-Object -First 1
    if (-not $lic) {
        $lic = Get-CimInstance -ClassName SoftwareLicensingProduct -Filter "PartialProductKey IS NOT NULL AND Description LIKE '%VOLUME_KMS%' AND NOT Description LIKE '%KMSCLIENT%'" | Select-Object -First 1
    }
    if (-not $lic) { throw 'No KMS host licence found on this machine (Description VOLUME_KMS).' }
    $status = if ($lic.LicenseStatus -lt $StatusWords.Count) { $StatusWords[$lic.LicenseStatus] } else { 'Unknown' }
    $dns = if ($svc.KeyManagementServiceDnsPublishing) { 'DNS publishing enabled' } else { 'DNS publishing disabled' }
    $prio = if ($svc.KeyManagementServiceLowPriority) { 'Low' } else { 'Normal' }
    $HostTextTemplate -f $lic.Name, $lic.Description, $lic.ID, $lic.PartialProductKey, $status,
        $svc.KeyManagementServiceCurrentCount, $svc.KeyManagementServiceListeningPort, $dns, $prio,
        $svc.KeyManagementServiceTotalRequests, $svc.KeyManagementServiceFailedRequests,
        $svc.KeyManagementServiceUnlicensedRequests, $svc.KeyManagementServiceLicensedRequests,
        $svc.KeyManagementServiceOOBGraceRequests, $svc.KeyManagementServiceOOTGraceRequests,
        $svc.KeyManagementServiceNonGenuineGraceRequests, $svc.KeyManagementServiceNotificationRequests
}

function Send-WithRetry([string]$Uri, [byte[]]$Body, [string]$ContentType, [string]$Bearer) {
    $delay = 30
    $proxyArgs = Get-ProxyArgs
    for ($attempt = 1; $attempt -le $MaxAttempts; $attempt++) {
        try {
            $r = Invoke-RestMethod -Method Post -Uri $Uri -Body $Body -ContentType $ContentType `
                -Headers @{ Authorization = "Bearer $Bearer" } -TimeoutSec 60 -UseBasicParsing @proxyArgs
            Write-Log "sent to $Uri (attempt $attempt): $(($r | ConvertTo-Json -Compress -Depth 4))"
            return $r
        } catch {
            $code = 0
            if ($_.Exception.Response) { $code = [int]$_.Exception.Response.StatusCode }
            $detail = $_.ErrorDetails.Message
            Write-Log "attempt $attempt failed: HTTP $code $($_.Exception.Message) $detail"
            if ($code -ge 400 -and $code -lt 500 -and $code -ne 408 -and $code -ne 429) {
                throw "The portal refused the report (HTTP $code): $detail"
            }
            if ($attempt -eq $MaxAttempts) { throw "Giving up after $MaxAttempts attempts." }
            $wait = $delay + (Get-Random -Minimum 0 -Maximum ([int]($delay / 2) + 1))
            Write-Log "retrying in $wait s"
            Start-Sleep -Seconds $wait
            $delay = [Math]::Min($delay * 2, 900)
        }
    }
}

# --- main ---------------------------------------------------------------------------------
if ($Uninstall) { Uninstall-Agent; return }
if ($Install) { Install-Agent }
$config = Get-Config
if ($config) {
    if (-not $PortalUrl) { $PortalUrl = $config.portal_url }
    if (-not $Token) { $Token = $config.token }
    if (-not $PSBoundParameters.ContainsKey('Mode') -and $config.mode) { $Mode = $config.mode }
    if (-not $KmsHostId) { $KmsHostId = [int]$config.kms_host_id }
    if (-not $Proxy -and $config.proxy) { $Proxy = $config.proxy }
    if ($config.proxy_default_credentials) { $ProxyUseDefaultCredentials = $true }
    if (-not $Organisation -and $config.organisation) { $Organisation = $config.organisation }
    if ($config.max_attempts) { $MaxAttempts = [int]$config.max_attempts }
}
if (-not $PortalUrl -or -not $Token) { throw 'Give -PortalUrl and -Token (or install first).' }
$base = $PortalUrl.TrimEnd('/')
try {
    if ($Mode -eq 'Host') {
        if (-not $KmsHostId) { throw 'Host mode needs -KmsHostId (the id on the KMS host page).' }
        $text = Get-HostText
        if ($DryRun) { $text; return }
        Send-WithRetry "$base/api/v1/kms-hosts/$KmsHostId/status-reports/" `
            ([Text.Encoding]::UTF8.GetBytes($text)) 'text/plain; charset=utf-8' $Token | Out-Null
    } else {
        $json = Get-ClientReport | ConvertTo-Json -Depth 4
        if ($DryRun) { $json; return }
        Send-WithRetry "$base/api/v1/inventory/wmi/" ([Text.Encoding]::UTF8.GetBytes($json)) `
            'application/json; charset=utf-8' $Token | Out-Null
    }
} catch {
    Write-Log "failed: $($_.Exception.Message)"
    throw
}
