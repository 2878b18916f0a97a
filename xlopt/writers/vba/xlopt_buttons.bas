Attribute VB_Name = "xlopt_buttons"
' The Run and Reset buttons of the graddesc sheets. In Excel each calls Python through xlwings'
' RunPython (xlopt.macros); in LibreOffice Calc each calls the script xlopt_lo.py that
' `xlopt install-libreoffice` puts in the user's profile (xlopt.live.lo.script). Both act on the
' active sheet through its defined names only.
' This module compiles in Excel's VBA and in LibreOffice Basic (VBA support): it has no Option
' Explicit, so in Excel the LibreOffice-only names below (GetDefaultContext, ThisComponent) are
' empty Variants, not calls, and xlopt_lo_context returns Nothing.
' One statement per line: LibreOffice drops a Sub written as "Sub x(): ...: End Sub".
Sub xlopt_run()
    If xlopt_libreoffice("run") Then Exit Sub
    RunPython "import xlopt.macros; xlopt.macros.run()"
End Sub

Sub xlopt_reset()
    If xlopt_libreoffice("reset") Then Exit Sub
    RunPython "import xlopt.macros; xlopt.macros.reset()"
End Sub

' LibreOffice's component context, or Nothing in Excel.
Function xlopt_lo_context() As Object
    Set xlopt_lo_context = Nothing
    On Error Resume Next
    Set xlopt_lo_context = GetDefaultContext
End Function

' In LibreOffice: press the button through the Python script and return True. In Excel: False.
Function xlopt_libreoffice(button As String) As Boolean
    Dim ctx As Object, doc As Object, script As Object, result As Variant
    xlopt_libreoffice = False
    Set ctx = xlopt_lo_context()
    If ctx Is Nothing Then Exit Function
    xlopt_libreoffice = True
    On Error GoTo not_installed
    Set doc = ThisComponent
    Set script = doc.getScriptProvider().getScript("vnd.sun.star.script:xlopt_lo.py$" & button & "?language=Python&location=user")
    On Error GoTo failed
    result = script.invoke(Array(doc), Array(), Array())
    Exit Function
not_installed:
    MsgBox "xlopt: LibreOffice cannot find the script xlopt_lo.py in your profile (" & Err.Description & "). Run 'xlopt install-libreoffice' with the Python that has xlopt, then restart LibreOffice.", 16, "xlopt"
    Exit Function
failed:
    MsgBox "xlopt: the " & button & " script failed: " & Err.Description, 16, "xlopt"
End Function
