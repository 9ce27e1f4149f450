# The Windows half of the Windows CI (.github/workflows/windows.yml), one
# step at a time or all of them, so that every step also runs by hand on a
# Windows machine with test signing on (bcdedit /set testsigning on), as an
# administrator, in PowerShell 7:
#
#   ./scripts/windows-ci.ps1 -Step Wdk        # the WDK (NuGet), cargo-make, LLVM
#   ./scripts/windows-ci.ps1 -Step BuildWdk   # lklfsd.sys the Windows way -> out/driver-wdk
#   ./scripts/windows-ci.ps1 -Step Test -Driver out/driver-linux
#
# `out` is what the Linux job made (scripts/test-disks.sh, scripts/driver.sh,
# scripts/windows.sh, scripts/kernel-kit.sh): out/driver-linux (lklfsd.sys,
# lklfsd.inf), out/bin (lklfs.exe, lklfsd-ctl.exe, fsd-scenarios.exe),
# out/lkl-kit, out/disks/*.vhdx. Test signs and
# installs the driver, turns on Driver Verifier (/dif /now: hosted runners
# cannot reboot), attaches the VHDX disks, waits for their letters, runs
# the scenario suite on each Linux letter and on an NTFS reference, runs
# Windows' own tools on the drives, detaches, and says what Driver
# Verifier saw. Logs go to out/logs. Written from Microsoft's
# documentation (pnputil, verifier, Mount-DiskImage, diskpart, robocopy,
# fsutil, inf2cat, signtool): see the README for what has been run where.
param(
    [ValidateSet('Wdk', 'BuildWdk', 'Test', 'Sign', 'Package', 'Install', 'Verifier', 'Attach',
        'Scenarios', 'Tools', 'Rules', 'Removal', 'Replug', 'Security', 'Detach', 'Uninstall',
        'ShutdownWrite', 'AfterShutdown', 'Unplug', 'All')]
    [string]$Step = 'Test',
    [string]$Out = 'out',
    [string]$Driver = 'out/driver-linux',
    # Seconds to wait for a letter, and for pnputil.
    [int]$Wait = 120
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Out = (New-Item -ItemType Directory -Force $Out).FullName
$Logs = (New-Item -ItemType Directory -Force (Join-Path $Out 'logs')).FullName
$Bin = Join-Path $Out 'bin'
$Disks = Join-Path $Out 'disks'
$State = Join-Path $Out 'ci-state.json'

function Log([string]$What) {
    $line = "$(Get-Date -Format 'HH:mm:ss') $What"
    Write-Host $line
    Add-Content -Path (Join-Path $Logs 'ci.log') -Value $line
}

# Runs a program, logs its output, fails on an exit code not accepted:
# those in $Ok (0 unless said), or every one from 0 to $MaxOk where a
# tool counts successes so (robocopy's 0-7). An accepted code is cleared
# from $LASTEXITCODE, which the runner reads when a step ends.
function Run([string]$Exe, [string[]]$Arguments, [int[]]$Ok = @(0), [int]$MaxOk = -1, [string]$LogName = '') {
    Log "> $Exe $($Arguments -join ' ')"
    $output = & $Exe @Arguments 2>&1 | Out-String
    $code = $LASTEXITCODE
    if ($LogName) { Set-Content -Path (Join-Path $Logs $LogName) -Value $output }
    Write-Host $output
    $accepted = if ($MaxOk -ge 0) { $code -ge 0 -and $code -le $MaxOk } else { $code -in $Ok }
    if (-not $accepted) { throw "$Exe exited with $code" }
    $global:LASTEXITCODE = 0
    return $output
}

function Save-State($Value) { $Value | ConvertTo-Json -Depth 5 | Set-Content $State }
function Load-State { if (Test-Path $State) { Get-Content $State -Raw | ConvertFrom-Json } else { $null } }

# The WDK's tools (inf2cat, signtool, stampinf): from the NuGet package,
# or an installed WDK.
function Wdk-Tool([string]$Name) {
    $found = Get-ChildItem -Recurse -Filter "$Name.exe" -ErrorAction SilentlyContinue `
        -Path (Join-Path $Out 'wdk'), "${env:ProgramFiles(x86)}\Windows Kits\10\bin" |
        Where-Object { $_.Directory.Name -in @('x64', 'x86') } | Select-Object -First 1
    if (-not $found) { throw "$Name.exe: no WDK (run -Step Wdk)" }
    return $found.FullName
}

# The WDK release the build uses: the 26100 kits (Windows 11 24H2 and
# Server 2025), its newest update taken once for all three packages.
$WdkBase = '10.0.26100'

function Step-Wdk {
    # The WDK as NuGet packages (no installer, no reboot): the runner image
    # has only the SDK and the WDK's Visual Studio extension. wdk-build
    # finds the kit through WDKContentRoot and its siblings (set here for
    # this process and, in CI, for the steps after), as windows-drivers-rs'
    # own CI sets them for its NuGet kits.
    $nuget = Join-Path $Out 'nuget.exe'
    if (-not (Test-Path $nuget)) {
        Invoke-WebRequest 'https://dist.nuget.org/win-x86-commandline/latest/nuget.exe' -OutFile $nuget
    }
    $index = Invoke-RestMethod 'https://api.nuget.org/v3-flatcontainer/microsoft.windows.wdk.x64/index.json'
    $version = @($index.versions | Where-Object { $_ -like "$WdkBase.*" } | Sort-Object { [version]$_ })[-1]
    if (-not $version) { throw "no Microsoft.Windows.WDK.x64 package of $WdkBase" }
    Log "the WDK packages, all at $version"
    $wdk = Join-Path $Out 'wdk'
    foreach ($package in 'Microsoft.Windows.SDK.CPP', 'Microsoft.Windows.SDK.CPP.x64', 'Microsoft.Windows.WDK.x64') {
        Run $nuget @('install', $package, '-Version', $version, '-OutputDirectory', $wdk, '-NonInteractive') | Out-Null
    }
    Use-Wdk
    # The WDK flow links its makefile into target\ before cargo makes it.
    New-Item -ItemType Directory -Force (Join-Path $PSScriptRoot '..\target') | Out-Null
    Use-Llvm
    if (-not (Get-Command cargo-make -ErrorAction SilentlyContinue)) { Run cargo @('install', '--locked', 'cargo-make') }
}

# LLVM for bindgen, at the one version windows-drivers-rs tests with
# (its build and test workflows' matrix, and its README: 17.0.6; later
# releases broke wdk-sys' bindings, windows-drivers-rs issues 659 and
# 736). The runner image has a newer LLVM from Chocolatey in the same
# place; Chocolatey puts 17.0.6 there instead (the image has no winget).
# 1641 and 3010: installed, a reboot asked for.
$LlvmVersion = '17.0.6'

function Use-Llvm {
    $llvm = Join-Path $env:ProgramFiles 'LLVM\bin'
    $clang = Join-Path $llvm 'clang.exe'
    $have = if (Test-Path $clang) { & $clang --version 2>&1 | Out-String } else { '' }
    if ($have -notmatch "clang version $([regex]::Escape($LlvmVersion))\b") {
        Run choco @('install', 'llvm', "--version=$LlvmVersion", '--allow-downgrade', '--force', '-y', '--no-progress') `
            -Ok @(0, 1641, 3010) -LogName 'llvm-install.txt' | Out-Null
        $have = & $clang --version 2>&1 | Out-String
        if ($have -notmatch "clang version $([regex]::Escape($LlvmVersion))\b") { throw "clang is not $LlvmVersion after the install: $have" }
    }
    Log "clang: $($have.Trim())"
    $env:LIBCLANG_PATH = $llvm
    $env:PATH = "$llvm;$env:PATH"
    if ($env:GITHUB_ENV) { Add-Content -Path $env:GITHUB_ENV -Value "LIBCLANG_PATH=$llvm" }
    if ($env:GITHUB_PATH) { Add-Content -Path $env:GITHUB_PATH -Value $llvm }
}

# Points wdk-build at the kit Step-Wdk installed (for this process, and in
# CI for the steps after): WDKContentRoot and its siblings, as
# windows-drivers-rs' own CI sets them for its NuGet kits.
function Use-Wdk {
    $wdk = Join-Path $Out 'wdk'
    $package = Get-ChildItem -Directory -Path $wdk -Filter "Microsoft.Windows.WDK.x64.$WdkBase.*" -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if (-not $package) { throw "no WDK under $wdk (run -Step Wdk)" }
    $version = $package.Name.Substring('Microsoft.Windows.WDK.x64.'.Length)
    $kit = Join-Path $package.FullName 'c'
    $settings = [ordered]@{
        WDKContentRoot = "$kit\"
        WDKBinRoot = Join-Path $kit 'bin'
        WDKToolRoot = Join-Path $kit 'tools'
        WindowsSdkBinPath = Join-Path $wdk "Microsoft.Windows.SDK.CPP.$version\c\bin"
        Version_Number = "$WdkBase.0"
    }
    foreach ($name in $settings.Keys) {
        Set-Item "env:$name" $settings[$name]
        if ($env:GITHUB_ENV) { Add-Content -Path $env:GITHUB_ENV -Value "$name=$($settings[$name])" }
        Log "$name=$($settings[$name])"
    }
    foreach ($dir in 'km', 'km\crt') {
        $include = Join-Path $kit "Include\$WdkBase.0\$dir"
        if (-not (Test-Path $include)) { throw "the WDK has no $include" }
    }
}

function Step-BuildWdk {
    Use-Wdk; Use-Llvm
    $env:LKL_KERNEL_BUILD = Join-Path $Out 'lkl-kit'
    Run cargo @('make', 'driver-windows')
    $package = Get-ChildItem -Recurse -Directory -Filter 'lklfsd_package' target | Select-Object -First 1
    if (-not $package) { throw 'the WDK build made no lklfsd_package' }
    $dest = New-Item -ItemType Directory -Force (Join-Path $Out 'driver-wdk')
    Copy-Item (Join-Path $package.FullName '*') $dest -Force
    Log "WDK build: $((Get-ChildItem $dest).Name -join ', ')"
}

# A test certificate of our own, trusted on this machine; the .sys and a
# catalog made by inf2cat signed with it.
function Step-Sign {
    $work = New-Item -ItemType Directory -Force (Join-Path $Out 'signed')
    Copy-Item (Join-Path $Driver 'lklfsd.sys'), (Join-Path $Driver 'lklfsd.inf') $work -Force
    $cert = New-SelfSignedCertificate -Type CodeSigningCert -Subject 'CN=lklfsd CI test' `
        -CertStoreLocation Cert:\LocalMachine\My -NotAfter (Get-Date).AddDays(2)
    $cer = Join-Path $work 'lklfsd-test.cer'
    Export-Certificate -Cert $cert -FilePath $cer | Out-Null
    Run certutil @('-addstore', 'Root', $cer)
    Run certutil @('-addstore', 'TrustedPublisher', $cer)
    Run (Wdk-Tool inf2cat) @("/driver:$work", '/os:10_x64,Server10_x64', '/uselocaltime')
    foreach ($file in 'lklfsd.sys', 'lklfsd.cat') {
        Run (Wdk-Tool signtool) @('sign', '/fd', 'SHA256', '/sm', '/s', 'My', '/sha1', $cert.Thumbprint,
            (Join-Path $work $file))
    }
    Run (Wdk-Tool signtool) @('verify', '/pa', '/v', (Join-Path $work 'lklfsd.sys')) -LogName 'signtool-verify.txt'
}

# The release .zip: the signed package, its test certificate, the
# installer, and the programs.
function Step-Package {
    $signed = Join-Path $Out 'signed'
    $zip = Join-Path $Out 'lklfsd-x64.zip'
    $files = @('lklfsd.sys', 'lklfsd.inf', 'lklfsd.cat', 'lklfsd-test.cer' | ForEach-Object { Join-Path $signed $_ })
    $files += Join-Path $PSScriptRoot '..\inf\install.cmd'
    $files += 'lklfs.exe', 'lklfsd-ctl.exe', 'fsd-scenarios.exe' | ForEach-Object { Join-Path $Bin $_ }
    Compress-Archive -Path $files -DestinationPath $zip -Force
    Log "release package: $zip"
}

function Step-Install {
    $inf = Join-Path $Out 'signed\lklfsd.inf'
    # pnputil waits for ever on a signer it does not trust: with a timeout.
    $p = Start-Process pnputil -ArgumentList @('/add-driver', $inf, '/install') -PassThru -NoNewWindow `
        -RedirectStandardOutput (Join-Path $Logs 'pnputil.txt')
    if (-not $p.WaitForExit($Wait * 1000)) { $p.Kill(); throw "pnputil did not finish in $Wait s" }
    Get-Content (Join-Path $Logs 'pnputil.txt') | Write-Host
    # 3010: a restart wanted; 259: no device matched (what a primitive
    # driver's install may say), so the service is asked for after.
    if ($p.ExitCode -notin @(0, 3010, 259)) { throw "pnputil exited with $($p.ExitCode)" }
    Run sc.exe @('query', 'lklfsd') -LogName 'service-installed.txt' | Out-Null
    # The runner (an elevated administrator) is root on Linux volumes; other
    # users get what the table maps them to (Step-Security).
    New-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Services\lklfsd\Parameters' -Name 'AdministratorsAreRoot' `
        -PropertyType DWord -Value 1 -Force | Out-Null
    # Found disks mount read-only unless their file system is opted in to
    # writing: the test disks' fixed UUIDs (scripts/test-disks.sh).
    foreach ($uuid in Get-Content (Join-Path $Disks 'uuids.txt')) {
        Run (Join-Path $Bin 'lklfs.exe') @('volumes', '--rw', $uuid) | Out-Null
    }
}

# Driver Verifier without a reboot, set before the driver loads. From
# Windows 11 (Server 2025 is build 26100) /volatile /flags takes only 0x4,
# 0x20, 0x80, 0x200 and 0x400 ("Using Volatile Settings"); the standard
# checks start with `verifier /dif CLASSES /now /driver NAME` instead
# ("Driver Verifier command syntax": the rule classes whose /now column
# says yes). Taken here: 1 special pool, 4 pool tracking, 5 I/O
# verification, 9 security checks, 12 miscellaneous checks, 18 DDI
# compliance checking; /dif adds 36, DIF mode. Force IRQL checking (2) and
# deadlock detection (6) need a reboot. What Verifier took is read back
# into the logs, and checked once the driver runs.
$VerifierClasses = @('1', '4', '5', '9', '12', '18')

function Step-Verifier {
    Run verifier (@('/dif') + $VerifierClasses + @('/now', '/driver', 'lklfsd.sys')) -MaxOk 255 `
        -LogName 'verifier-dif.txt' | Out-Null
    Run sc.exe @('start', 'lklfsd') -Ok @(0, 1056) | Out-Null   # 1056: already running
    $query = Run verifier @('/query') -MaxOk 255 -LogName 'verifier-start.txt'
    if ($query -notmatch 'lklfsd\.sys') { throw 'Driver Verifier does not verify lklfsd.sys (verifier-start.txt)' }
    Run verifier @('/querysettings') -MaxOk 255 -LogName 'verifier-settings.txt' | Out-Null
}

# The Linux file systems' letters: drives whose file system (as
# GetVolumeInformation names it, from our FileFsAttributeInformation) is
# one of ours. Each has .DriveLetter.
function Linux-Volumes {
    [System.IO.DriveInfo]::GetDrives() |
        Where-Object { $_.IsReady -and $_.DriveFormat -in @('ext2', 'ext3', 'ext4', 'btrfs', 'xfs') } |
        ForEach-Object { [pscustomobject]@{ DriveLetter = $_.Name.Substring(0, 1); FileSystem = $_.DriveFormat } }
}

function Step-Attach {
    $images = @()
    foreach ($vhdx in Get-ChildItem (Join-Path $Disks '*.vhdx')) {
        Log "attaching $($vhdx.Name)"
        $images += (Mount-DiskImage -ImagePath $vhdx.FullName -Access ReadWrite -PassThru).ImagePath
    }
    # gpt: ext4 (+ FAT, Windows' own); mbr, whole: ext4; btrfs.
    $want = 4
    $deadline = (Get-Date).AddSeconds($Wait)
    while (@(Linux-Volumes).Count -lt $want -and (Get-Date) -lt $deadline) { Start-Sleep 2 }
    $found = @(Linux-Volumes)
    Get-Volume | Format-Table -AutoSize | Out-String | Set-Content (Join-Path $Logs 'volumes.txt')
    $found | Format-Table -AutoSize | Out-String | Add-Content (Join-Path $Logs 'volumes.txt')
    if ($found.Count -lt $want) { throw "$($found.Count) of $want Linux volumes got a letter in $Wait s" }
    # An image file with a letter of lklfs' choosing, and the NTFS reference.
    $image = Join-Path $Out 'image-copy.img'
    Copy-Item (Join-Path $Disks 'whole.img') $image -ErrorAction SilentlyContinue
    if (Test-Path $image) {
        Run (Join-Path $Bin 'lklfs.exe') @('attach', $image, 'W:') | Out-Null
    }
    $ntfs = New-NtfsReference
    Save-State @{ images = $images; ntfs = $ntfs; linux = @($found.DriveLetter | ForEach-Object { "$_" }) }
}

# A VHDX formatted NTFS by Windows, as the reference the suite is held to.
function New-NtfsReference {
    $vhdx = Join-Path $Out 'ntfs-reference.vhdx'
    Remove-Item $vhdx -ErrorAction SilentlyContinue
    $script = Join-Path $Out 'diskpart.txt'
    @(
        "create vdisk file=`"$vhdx`" maximum=256 type=expandable",
        "select vdisk file=`"$vhdx`"",
        'attach vdisk',
        'create partition primary',
        'format fs=ntfs quick label=REFERENCE',
        'assign letter=R'
    ) | Set-Content $script -Encoding ascii
    Run diskpart @('/s', $script) -LogName 'diskpart.txt' | Out-Null
    return $vhdx
}

# The scenario suite on every Linux letter and on NTFS, strict (a skip is
# a failure), then random sequences on both.
function Step-Scenarios {
    $state = Load-State
    $suite = Join-Path $Bin 'fsd-scenarios.exe'
    $targets = @($state.linux) + @('R')
    if (Test-Path W:\) { $targets += 'W' }
    $failed = @()
    foreach ($letter in $targets) {
        New-Item -ItemType Directory -Force "${letter}:\ci" | Out-Null
        $text = & $suite --strict --prefix run- "${letter}:\ci" 2>&1 | Out-String
        Set-Content (Join-Path $Logs "scenarios-$letter.txt") $text
        Log "scenarios on ${letter}: exit $LASTEXITCODE, $(($text -split "`n" | Select-Object -Last 2) -join ' ')"
        if ($LASTEXITCODE -ne 0) { $failed += $letter }
        foreach ($seed in 2..6) {
            $text = & $suite --only random_sequence --seed $seed --steps 20000 --prefix "seed$seed-" "${letter}:\ci" 2>&1 | Out-String
            Add-Content (Join-Path $Logs "random-$letter.txt") $text
            if ($LASTEXITCODE -ne 0) { $failed += "$letter (seed $seed)" }
        }
    }
    if ($failed) { throw "the scenario suite failed on: $($failed -join ', ')" }
}

# Windows' own tools on each Linux letter.
function Step-Tools {
    $state = Load-State
    $tree = Join-Path $PSScriptRoot '..\examples\sample-tree'
    foreach ($letter in $state.linux) {
        $drive = "${letter}:"
        Log "tools on $drive"
        # The tree the disks were made with: every file's SHA-256 as listed.
        foreach ($line in Get-Content "$drive\SHA256SUMS") {
            $hash, $name = $line -split '\s+', 2
            $got = (Get-FileHash -Algorithm SHA256 (Join-Path $drive $name.TrimStart('*'))).Hash
            if ($got -ne $hash.ToUpper()) { throw "${drive}\${name}: SHA-256 $got, made with $hash" }
        }
        # robocopy in and out, compared byte for byte with fc /b.
        # One retry, a second apart (robocopy's defaults: a million, 30 s).
        Run robocopy @($tree, "$drive\ci\robocopy", '/E', '/NP', '/R:1', '/W:1') -MaxOk 7 | Out-Null
        $back = Join-Path $env:TEMP "robocopy-back-$letter"
        Run robocopy @("$drive\ci\robocopy", $back, '/E', '/NP', '/R:1', '/W:1') -MaxOk 7 | Out-Null
        foreach ($file in Get-ChildItem -Recurse -File $tree) {
            $relative = $file.FullName.Substring((Resolve-Path $tree).Path.Length)
            Run fc.exe @('/b', $file.FullName, (Join-Path $back $relative)) | Out-Null
        }
        Run fsutil @('fsinfo', 'volumeinfo', $drive) -LogName "fsutil-volumeinfo-$letter.txt" | Out-Null
        Run fsutil @('fsinfo', 'sectorinfo', $drive) -LogName "fsutil-sectorinfo-$letter.txt" | Out-Null
        # 16 MiB: the test volumes are 48 to 128 MiB.
        Run fsutil @('file', 'createnew', "$drive\ci\big.bin", '16777216') | Out-Null
        Run fsutil @('sparse', 'setflag', "$drive\ci\big.bin") | Out-Null
        Run fsutil @('file', 'queryallocranges', 'offset=0', 'length=16777216', "$drive\ci\big.bin") | Out-Null
        # A program run from the drive, with its MUI resources beside it.
        Copy-Item "$env:windir\System32\whoami.exe" "$drive\ci\whoami.exe"
        $mui = "$env:windir\System32\$((Get-Culture).Name)\whoami.exe.mui"
        if (Test-Path $mui) {
            New-Item -ItemType Directory -Force "$drive\ci\$((Get-Culture).Name)" | Out-Null
            Copy-Item $mui "$drive\ci\$((Get-Culture).Name)\whoami.exe.mui"
        }
        Run "$drive\ci\whoami.exe" @() | Out-Null
        # A memory-mapped write read back non-cached: the suite's scenario.
        Run (Join-Path $Bin 'fsd-scenarios.exe') @('--strict', '--only', 'memory_mapped', '--prefix', 'tools-', "$drive\ci") | Out-Null
    }
}

# Windows' rules the driver keeps that only Windows exercises
# (fsd/driver/RULES.md): a rename over an existing file both ways programs
# make one (MoveFileEx with MOVEFILE_REPLACE_EXISTING, through Move-Item
# -Force and File.Move), which goes through SL_OPEN_TARGET_DIRECTORY and
# a target file object; a file's security descriptor through
# GetFileSecurity (icacls, Get-Acl); a file mapped and written through
# the mapping, then read back after its handles are gone (the cache and
# the memory manager writing pages through the driver's paging path).
function Step-Rules {
    $state = Load-State
    $letter = $state.linux[0]
    $dir = "${letter}:\ci\rules"
    New-Item -ItemType Directory -Force $dir | Out-Null
    Set-Content "$dir\old.txt" 'old'
    Set-Content "$dir\new.txt" 'new'
    Move-Item -Force "$dir\new.txt" "$dir\old.txt"
    if ((Get-Content "$dir\old.txt") -ne 'new') { throw 'Move-Item -Force did not replace the target' }
    if (Test-Path "$dir\new.txt") { throw 'Move-Item -Force left the source' }
    Set-Content "$dir\third.txt" 'third'
    [System.IO.File]::Move("$dir\third.txt", "$dir\old.txt", $true)
    if ((Get-Content "$dir\old.txt") -ne 'third') { throw 'File.Move with overwrite did not replace the target' }
    Run icacls @("$dir\old.txt") -LogName "icacls-$letter.txt" | Out-Null
    $acl = Get-Acl "$dir\old.txt"
    if (-not $acl.Owner) { throw 'Get-Acl found no owner' }
    Log "owner of $dir\old.txt: $($acl.Owner)"
    $mapped = "$dir\mapped.bin"
    [System.IO.File]::WriteAllBytes($mapped, [byte[]]::new(65536))
    $map = [System.IO.MemoryMappedFiles.MemoryMappedFile]::CreateFromFile($mapped, [System.IO.FileMode]::Open)
    $view = $map.CreateViewAccessor()
    foreach ($at in 0, 4096, 65535) { $view.Write([long]$at, [byte]0x5A) }
    $view.Flush()
    $view.Dispose()
    $map.Dispose()
    $back = [System.IO.File]::ReadAllBytes($mapped)
    foreach ($at in 0, 4096, 65535) {
        if ($back[$at] -ne 0x5A) { throw "the mapped write at $at did not reach the file" }
    }
}

# Plugs in VHDX $Vhdx; the letter its file system (by label) gets.
function Mount-ByLabel([string]$Vhdx, [string]$Label) {
    Mount-DiskImage -ImagePath $Vhdx -Access ReadWrite | Out-Null
    $deadline = (Get-Date).AddSeconds($Wait)
    do {
        Start-Sleep 2
        $letter = @(Get-Volume | Where-Object { $_.FileSystemLabel -eq $Label -and $_.DriveLetter })[0].DriveLetter
    } while (-not $letter -and (Get-Date) -lt $deadline)
    if (-not $letter) { throw "$Label got no letter in $Wait s" }
    return $letter
}

# Removal and media (fsd/driver/RULES.md), on the disks of out/disks/
# scenarios: a VHDX of 4 KiB logical sectors mounts, is written and read
# back; an eject with a file open is refused or, if Windows forces it,
# leaves the driver serving the other disks; once the file is closed the
# disk goes and its letter with it; a surprise removal under writes
# leaves the driver and the other disks serving (and Verifier silent).
function Step-Removal {
    $state = Load-State
    $dir = Join-Path $Disks 'scenarios'
    $other = "$($state.linux[0]):\SHA256SUMS"
    $fourk = Join-Path $dir '4kn.vhdx'
    $letter = Mount-ByLabel $fourk 'lkl-4kn'
    $sector = (Get-DiskImage -ImagePath $fourk | Get-Disk).LogicalSectorSize
    Log "4kn.vhdx: logical sectors of $sector bytes, letter ${letter}:"
    if ($sector -ne 4096) { throw "4kn.vhdx has $sector-byte sectors" }
    Get-Content "${letter}:\SHA256SUMS" | Out-Null
    Set-Content "${letter}:\on-4k.txt" 'on 4 KiB sectors'
    if ((Get-Content "${letter}:\on-4k.txt") -ne 'on 4 KiB sectors') { throw 'a file on the 4Kn disk read back wrong' }
    Dismount-DiskImage -ImagePath $fourk | Out-Null

    $scratch = Join-Path $dir 'scratch.vhdx'
    $letter = Mount-ByLabel $scratch 'lkl-scratch'
    $held = [System.IO.File]::Open("${letter}:\held.bin", [System.IO.FileMode]::Create)
    $held.Write([byte[]]::new(4096), 0, 4096)
    $held.Flush()
    try {
        Dismount-DiskImage -ImagePath $scratch -ErrorAction Stop | Out-Null
        Log 'an eject with a file open: Windows forced it'
    } catch {
        Log "an eject with a file open: refused ($($_.Exception.Message))"
        if (-not (Test-Path "${letter}:\held.bin")) { throw 'the refused eject took the disk' }
    }
    try { $held.Dispose() } catch { Log "closing the held file: $($_.Exception.Message)" }
    if (Get-DiskImage -ImagePath $scratch | Where-Object Attached) {
        Dismount-DiskImage -ImagePath $scratch | Out-Null
    }
    Get-Content $other | Out-Null

    $letter = Mount-ByLabel $scratch 'lkl-scratch'
    $writer = Start-Job -ScriptBlock {
        param($Path)
        while ($true) { [System.IO.File]::WriteAllBytes($Path, [byte[]]::new(1048576)) }
    } -ArgumentList "${letter}:\surprise.bin"
    Start-Sleep 3
    Dismount-DiskImage -ImagePath $scratch -ErrorAction SilentlyContinue | Out-Null
    Stop-Job $writer
    Remove-Job $writer -Force
    if (Get-DiskImage -ImagePath $scratch | Where-Object Attached) {
        Dismount-DiskImage -ImagePath $scratch | Out-Null
    }
    Get-Content $other | Out-Null
    Log 'a surprise removal under writes: the driver and the other disks serve on'
}

# By hand, on a VM (a hosted runner cannot reboot): ShutdownWrite writes a
# file on the first Linux disk and restarts Windows at once, with its
# pages still in the cache; AfterShutdown, once Windows is back, checks
# the file came through the shutdown (then `scripts/test-disks.sh check`
# on Linux finds the disk clean).
function Step-ShutdownWrite {
    $state = Load-State
    $path = "$($state.linux[0]):\ci\shutdown.txt"
    New-Item -ItemType Directory -Force (Split-Path $path) | Out-Null
    Set-Content $path 'written just before a restart'
    Run shutdown.exe @('/r', '/t', '0') | Out-Null
}

function Step-AfterShutdown {
    $state = Load-State
    $path = "$($state.linux[0]):\ci\shutdown.txt"
    if ((Get-Content $path) -ne 'written just before a restart') { throw "$path did not come through the restart" }
    Log "$path came through the restart"
}

# A disk unplugged and plugged in again keeps its letter: the Mount
# Manager's database has it for the file system's UUID. Also checks that
# an eject with nothing open lets the disk go.
function Step-Replug {
    $state = Load-State
    $vhdx = Join-Path $Disks 'mbr.vhdx'
    $before = @(Linux-Volumes | ForEach-Object { "$($_.DriveLetter)" })
    Dismount-DiskImage -ImagePath $vhdx | Out-Null
    $deadline = (Get-Date).AddSeconds($Wait)
    while (@(Linux-Volumes).Count -ge $before.Count -and (Get-Date) -lt $deadline) { Start-Sleep 2 }
    $gone = @($before | Where-Object { $_ -notin @(Linux-Volumes | ForEach-Object { "$($_.DriveLetter)" }) })
    if ($gone.Count -ne 1) { throw "unplugging mbr.vhdx took letters away: $($gone -join ', ')" }
    Mount-DiskImage -ImagePath $vhdx -Access ReadWrite | Out-Null
    $deadline = (Get-Date).AddSeconds($Wait)
    while (-not (Test-Path "$($gone[0]):\SHA256SUMS") -and (Get-Date) -lt $deadline) { Start-Sleep 2 }
    if (-not (Test-Path "$($gone[0]):\SHA256SUMS")) { throw "mbr.vhdx came back without its letter $($gone[0]):" }
    Log "replugged mbr.vhdx: letter $($gone[0]): again"
}

# What a standard user (made here) may not do: open the control device
# (or a name below it), attach an image, dismount a volume through a
# file's handle, read another user's file; what it may: read its own and
# what everyone may read. And a found disk not opted in to writing mounts
# read-only. Each check is a small PowerShell script run as that user;
# its exit code says whether Windows refused.
function New-CiUser([string]$Name) {
    $password = ConvertTo-SecureString ('Lk1-' + [guid]::NewGuid().ToString('N').Substring(0, 16)) -AsPlainText -Force
    Remove-LocalUser -Name $Name -ErrorAction SilentlyContinue
    $user = New-LocalUser -Name $Name -Password $password -AccountNeverExpires
    return [pscustomobject]@{
        Sid = $user.SID.Value
        Credential = New-Object System.Management.Automation.PSCredential ("$env:COMPUTERNAME\$Name", $password)
    }
}

# Runs PowerShell `$Code` as `$User`: its exit code (0: it worked, 1: it
# threw).
function Invoke-AsUser($User, [string]$Label, [string]$Code) {
    $script = Join-Path $env:TEMP "as-user-$($Label -replace '[^a-z0-9]', '-').ps1"
    "`$ErrorActionPreference = 'Stop'; try { $Code; exit 0 } catch { exit 1 }" | Set-Content $script
    $p = Start-Process pwsh -Credential $User.Credential -ArgumentList @('-NoProfile', '-File', $script) -PassThru -Wait -WindowStyle Hidden
    Log "as $($User.Credential.UserName), ${Label}: exit $($p.ExitCode)"
    return $p.ExitCode
}

# Unplugs and plugs in a VHDX again; the letter of its file system (by
# label) once it is back.
function Replug-Disk([string]$Vhdx, [string]$Label) {
    Dismount-DiskImage -ImagePath $Vhdx | Out-Null
    Mount-DiskImage -ImagePath $Vhdx -Access ReadWrite | Out-Null
    $deadline = (Get-Date).AddSeconds($Wait)
    do {
        Start-Sleep 2
        $letter = @(Get-Volume | Where-Object { $_.FileSystemLabel -eq $Label -and $_.DriveLetter })[0].DriveLetter
    } while (-not $letter -and (Get-Date) -lt $deadline)
    if (-not $letter) { throw "$Label did not come back with a letter in $Wait s" }
    return $letter
}

function Step-Security {
    $state = Load-State
    $letter = $state.linux[0]
    $mapped = New-CiUser 'lklci'
    $other = New-CiUser 'lklci2'
    New-Item -ItemType Directory -Force "${letter}:\ci" | Out-Null
    Set-Content "${letter}:\ci\user-visible.txt" 'for the standard user'
    $image = Join-Path $env:TEMP 'user-image.img'
    Copy-Item (Join-Path $Disks 'whole.img') $image -ErrorAction SilentlyContinue
    $failed = @()
    $refused = [ordered]@{
        'control device' = "[IO.File]::Open('\\.\LklFsd', 'Open', 'ReadWrite').Close()"
        'a name below it' = "[IO.File]::Open('\\.\LklFsd\x', 'Open', 'ReadWrite').Close()"
        'attach' = "& '$(Join-Path $Bin 'lklfs.exe')' attach '$image' T:; if (`$LASTEXITCODE -ne 0) { throw 'refused' }"
        'dismount through a file' = @"
Add-Type -TypeDefinition 'using System; using System.Runtime.InteropServices; public static class D {
  [DllImport("kernel32.dll", SetLastError=true)] public static extern bool DeviceIoControl(IntPtr h, uint code, IntPtr i, uint il, IntPtr o, uint ol, out uint r, IntPtr ov); }'
`$f = [IO.File]::Open('${letter}:\ci\user-visible.txt', 'Open', 'Read')
`$r = 0
if (-not [D]::DeviceIoControl(`$f.SafeFileHandle.DangerousGetHandle(), 0x90020, [IntPtr]::Zero, 0, [IntPtr]::Zero, 0, [ref]`$r, [IntPtr]::Zero)) { throw 'refused' }
"@
    }
    foreach ($check in $refused.GetEnumerator()) {
        if ((Invoke-AsUser $other $check.Key $check.Value) -ne 1) { $failed += $check.Key }
    }
    # Permissions: whole.img's private.txt is uid 1500's, mode 0600
    # (scripts/test-disks.sh). The first user is uid 1500; the volume reads
    # the table when it mounts, so the disk is plugged in again.
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Services\lklfsd\Parameters'
    New-ItemProperty -Path $key -Name 'UserIds' -PropertyType MultiString -Value @("$($mapped.Sid)=1500") -Force | Out-Null
    $whole = Replug-Disk (Join-Path $Disks 'whole.vhdx') 'lkl-whole'
    $read = "Get-Content '${whole}:\private.txt' | Out-Null"
    if ((Invoke-AsUser $mapped 'its own 0600 file' $read) -ne 0) { $failed += 'the owner reading its own file' }
    if ((Invoke-AsUser $other "another user's 0600 file" $read) -ne 1) { $failed += "reading another user's file" }
    $public = "Get-Content '${letter}:\ci\user-visible.txt' | Out-Null"
    if ((Invoke-AsUser $other 'a file everyone may read' $public) -ne 0) { $failed += 'reading a file everyone may read' }
    Remove-LocalUser -Name 'lklci', 'lklci2'
    # A found disk not opted in to writing: read-only after a replug.
    $uuid = '6c6b6c00-0000-4000-8000-000000000003'
    Run (Join-Path $Bin 'lklfs.exe') @('volumes', '--no-rw', $uuid) | Out-Null
    $whole = Replug-Disk (Join-Path $Disks 'whole.vhdx') 'lkl-whole'
    $written = $true
    try { Set-Content "${whole}:\read-only-check.txt" 'must not be written' -ErrorAction Stop } catch { $written = $false }
    Log "whole.vhdx not opted in: written $written"
    if ($written) { $failed += 'a found disk not opted in was written' }
    Run (Join-Path $Bin 'lklfs.exe') @('volumes', '--rw', $uuid) | Out-Null
    if ($failed) { throw "security checks failed: $($failed -join ', ')" }
}

# Every VHDX of out/ that is attached is let go, whatever failed before
# (the workflow runs this whether the test passed or not, before the
# disks are uploaded).
function Step-Unplug {
    foreach ($vhdx in Get-ChildItem -Recurse -Path $Out -Filter '*.vhdx') {
        $image = Get-DiskImage -ImagePath $vhdx.FullName -ErrorAction SilentlyContinue
        if ($image -and $image.Attached) {
            Log "unplugging $($vhdx.Name)"
            Dismount-DiskImage -ImagePath $vhdx.FullName -ErrorAction Continue | Out-Null
        }
    }
}

function Step-Detach {
    if (Test-Path W:\) { Run (Join-Path $Bin 'lklfs.exe') @('detach', 'W:') | Out-Null }
    # The test disks and the NTFS reference (diskpart attached it; any
    # attached VHDX detaches the same way).
    Step-Unplug
    # Alive and answering: Driver Verifier would have stopped the machine
    # on a violation; its counters say what it checked.
    $query = Run verifier @('/query') -MaxOk 255 -LogName 'verifier-end.txt'
    if ($query -notmatch 'lklfsd.sys') { throw 'Driver Verifier no longer lists lklfsd.sys' }
    Run sc.exe @('query', 'lklfsd') -LogName 'service-end.txt' | Out-Null
    Get-WinEvent -LogName System -MaxEvents 200 | Where-Object { $_.ProviderName -match 'lklfsd|Verifier|BugCheck' } |
        Format-List | Out-String | Set-Content (Join-Path $Logs 'events.txt')
}

function Step-Uninstall {
    # 1062: not started; 1052: unload refused while a volume device lives
    # (the driver's unload gate).
    Run sc.exe @('stop', 'lklfsd') -Ok @(0, 1052, 1062) | Out-Null
    # Ends the rule classes /dif /now started.
    Run verifier @('/stop') -MaxOk 255 -LogName 'verifier-stop.txt' | Out-Null
}

switch ($Step) {
    'Wdk' { Step-Wdk }
    'BuildWdk' { Step-BuildWdk }
    'Sign' { Step-Sign }
    'Package' { Step-Package }
    'Install' { Step-Install }
    'Verifier' { Step-Verifier }
    'Attach' { Step-Attach }
    'Scenarios' { Step-Scenarios }
    'Tools' { Step-Tools }
    'Rules' { Step-Rules }
    'Removal' { Step-Removal }
    'ShutdownWrite' { Step-ShutdownWrite }
    'Unplug' { Step-Unplug }
    'AfterShutdown' { Step-AfterShutdown }
    'Replug' { Step-Replug }
    'Security' { Step-Security }
    'Detach' { Step-Detach }
    'Uninstall' { Step-Uninstall }
    { $_ -in 'Test', 'All' } {
        Step-Sign; Step-Package; Step-Install; Step-Verifier
        try {
            Step-Attach; Step-Scenarios; Step-Tools; Step-Rules; Step-Removal; Step-Replug; Step-Security
        } finally { Step-Detach; Step-Uninstall }
    }
}
Log "step $Step done"
exit 0
