@echo off
rem Installs lklfsd from this folder (the release .zip). Run as an
rem administrator on a machine with test signing on (bcdedit /set
rem testsigning on, then reboot): the package is signed with the test
rem certificate beside it, which this trusts first.
cd /d "%~dp0"
certutil -addstore Root lklfsd-test.cer || goto :failed
certutil -addstore TrustedPublisher lklfsd-test.cer || goto :failed
pnputil /add-driver lklfsd.inf /install || goto :failed
sc start lklfsd
echo lklfsd is installed. Attach an image with: lklfs attach C:\path\disk.img X:
exit /b 0
:failed
echo lklfsd: installation failed (see above)
exit /b 1
